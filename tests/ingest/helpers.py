"""Builders for small test documents in binary formats (PDF, DOCX)."""

from __future__ import annotations

import io
from pathlib import Path


def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid PDF whose page shows ``lines`` (any Unicode, CJK included).

    The font is a Type0/Identity-H font without embedded glyphs; a ToUnicode CMap maps each
    glyph id back to its character, which is all text extraction needs.
    """
    return make_pdf_pages([lines])


def make_pdf_pages(pages: list[list[str]]) -> bytes:
    """Like :func:`make_pdf` with one page per list of lines (an empty list: a page without text)."""
    chars = sorted({c for lines in pages for line in lines for c in line}) or [" "]
    cid = {c: i + 1 for i, c in enumerate(chars)}
    contents = []
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "14 TL", "50 780 Td"]
        for line in lines:
            glyphs = "".join(f"{cid[c]:04X}" for c in line)
            ops.append(f"<{glyphs}> Tj T*")
        ops.append("ET")
        contents.append("\n".join(ops).encode("ascii"))
    bfchars = "\n".join(f"<{cid[c]:04X}> <{ord(c):04X}>" for c in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(chars)} beginbfchar\n{bfchars}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")
    # Objects 1-7: catalog, pages, font, CID font, cmap, descriptor; then page + content pairs.
    n = len(pages)
    kids = " ".join(f"{7 + 2 * i} 0 R" for i in range(n)).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        b"/FontDescriptor 6 0 R /DW 1000 >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 4 /FontBBox [0 -200 1000 900] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>",
    ]
    for i, content in enumerate(contents):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (8 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_docx(path: Path, title: str, paragraphs: list[str], table: list[list[str]] | None = None,
              heading: str | None = None) -> Path:
    """Write a small .docx: a title heading, an optional section heading, paragraphs, a table."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    if heading:
        document.add_heading(heading, level=2)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.save(str(path))
    return path


NUMBERING_XML = (
    '<w:abstractNum xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'w:abstractNumId="{aid}"><w:multiLevelType w:val="multilevel"/>'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="{fmt0}"/><w:suff w:val="space"/>'
    '<w:lvlText w:val="{text0}"/></w:lvl>'
    '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="{fmt1}"/><w:suff w:val="nothing"/>'
    '<w:lvlText w:val="{text1}"/></w:lvl></w:abstractNum>'
)


def make_numbered_docx(path: Path, title: str, items: list[tuple[int, str]], *, fmt0: str = "chineseCounting",
                       text0: str = "第%1条", fmt1: str = "chineseCounting", text1: str = "（%2）") -> Path:
    """A .docx whose numbers exist only as Word automatic numbering (numPr on each paragraph).

    ``items``: (level, text) pairs; level 0 uses ``text0``/``fmt0``, level 1 ``text1``/``fmt1``.
    """
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_heading(title, level=1)
    numbering = document.part.numbering_part.element
    aid, num_id = "77", "77"
    abstract = parse_xml(NUMBERING_XML.format(aid=aid, fmt0=fmt0, text0=text0, fmt1=fmt1, text1=text1))
    first_num = numbering.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}num")
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(parse_xml(
        '<w:num xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        f'w:numId="{num_id}"><w:abstractNumId w:val="{aid}"/></w:num>'))
    for level, text in items:
        para = document.add_paragraph(text)
        para._p.get_or_add_pPr().append(parse_xml(
            '<w:numPr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'))
    document.save(str(path))
    return path
