"""complaints package."""
