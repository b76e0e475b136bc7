// Knowledge-base admin: drag-and-drop upload with a progress bar driven by the ingest job,
// then the per-file ingest report; confirmation of destructive forms.
(function () {
  "use strict";
  var STATUS = { queued: "排队中", running: "导入中", done: "已导入", unchanged: "未变化", failed: "失败", cancelled: "已取消" };
  var META = [["title", "标题"], ["issuer", "发文机关"], ["doc_number", "文号"], ["date_effective", "施行"], ["region", "地区"]];

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function renderReport(job, box) {
    box.textContent = "";
    box.appendChild(el("h3", "导入报告"));
    var list = el("ul", "", "kb-report");
    job.files.forEach(function (f) {
      var item = el("li", "", "kb-report-file status-" + f.status);
      var head = el("p");
      head.appendChild(el("strong", f.name));
      head.appendChild(document.createTextNode("：" + (STATUS[f.status] || f.status)));
      if (f.error) head.appendChild(document.createTextNode("（" + f.error + "）"));
      item.appendChild(head);
      var r = f.report;
      if (r && r.chunks != null) {
        var line = r.chunks + " 个片段，" + r.articles + " 条";
        var meta = META.filter(function (m) { return r.metadata && r.metadata[m[0]]; })
          .map(function (m) { return m[1] + "：" + r.metadata[m[0]]; });
        if (meta.length) line += "；" + meta.join("；");
        item.appendChild(el("p", line, "small"));
      }
      if (r) {
        (r.notes || []).forEach(function (w) { item.appendChild(el("p", "提示：" + w, "small muted")); });
        (r.supersessions || []).forEach(function (s) { item.appendChild(el("p", "版本：" + s, "small muted")); });
      }
      if (f.doc_id) {
        var a = el("a", "查看与修改");
        a.href = "/kb/docs/" + encodeURIComponent(f.doc_id);
        item.appendChild(a);
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    var again = el("a", "刷新文件列表", "button");
    again.href = "/kb";
    box.appendChild(again);
  }

  function poll(url, bar, status, box) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        var share = job.total ? job.processed / job.total : 0;
        bar.value = 30 + Math.round(70 * share);
        var failed = (job.files || []).filter(function (f) { return f.status === "failed"; }).length;
        status.textContent = (STATUS[job.status] || job.status) + "：" + job.processed + " / " + job.total + " 个文件"
          + (failed ? "（其中 " + failed + " 个失败）" : "");
        if (job.status === "queued" || job.status === "running") {
          setTimeout(function () { poll(url, bar, status, box); }, 400);
        } else {
          bar.value = 100;
          if (job.error) status.textContent += "。" + job.error;
          renderReport(job, box);
        }
      })
      .catch(function () { status.textContent = "无法获取导入进度，请刷新页面。"; });
  }

  // What the server takes (api.uploadfiles.ALLOWED_SUFFIXES, MAX_FILES_PER_UPLOAD). A folder
  // holds other things too (images, .DS_Store): those are skipped and listed, not sent, so
  // one stray file does not refuse the whole upload.
  var SUFFIXES = [".md", ".txt", ".docx", ".pdf", ".html"];
  var MAX_FILES = 20;

  function supported(name) {
    var lower = name.toLowerCase();
    return name.charAt(0) !== "." && SUFFIXES.some(function (s) { return lower.slice(-s.length) === s; });
  }

  // Files of a dropped item, folders walked (readEntries returns at most 100 entries a call).
  function entryFiles(entry) {
    if (!entry) return Promise.resolve([]);
    if (entry.isFile) {
      return new Promise(function (resolve) { entry.file(function (f) { resolve([f]); }, function () { resolve([]); }); });
    }
    var reader = entry.createReader();
    var all = [];
    return new Promise(function (resolve) {
      function more() {
        reader.readEntries(function (batch) {
          if (!batch.length) {
            Promise.all(all.map(entryFiles)).then(function (lists) { resolve([].concat.apply([], lists)); });
            return;
          }
          all = all.concat(Array.prototype.slice.call(batch));
          more();
        }, function () { resolve([]); });
      }
      more();
    });
  }

  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var input = document.getElementById("upload-files");
    var folder = document.getElementById("upload-folder");
    var zone = document.getElementById("dropzone");
    var chosen = document.getElementById("upload-chosen");
    var files = [];
    var skipped = [];
    function show() {
      chosen.textContent = "";
      files.forEach(function (f) { chosen.appendChild(el("li", f.webkitRelativePath || f.name)); });
      skipped.forEach(function (f) {
        chosen.appendChild(el("li", (f.webkitRelativePath || f.name) + "：已跳过（不支持的文件类型）", "muted skipped"));
      });
    }
    function add(list) {
      list.forEach(function (f) { (supported(f.name) ? files : skipped).push(f); });
      show();
    }
    input.addEventListener("change", function () { files = []; skipped = []; add(Array.prototype.slice.call(input.files)); });
    folder.addEventListener("change", function () { files = []; skipped = []; add(Array.prototype.slice.call(folder.files)); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      var items = Array.prototype.slice.call(e.dataTransfer.items || []);
      var entries = items.map(function (i) { return i.webkitGetAsEntry ? i.webkitGetAsEntry() : null; });
      if (!entries.some(function (x) { return x && x.isDirectory; })) {
        add(Array.prototype.slice.call(e.dataTransfer.files));
        return;
      }
      Promise.all(entries.map(entryFiles)).then(function (lists) { add([].concat.apply([], lists)); });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!files.length) { chosen.textContent = "请先选择文件。"; return; }
      if (files.length > MAX_FILES) {
        chosen.appendChild(el("li", "共 " + files.length + " 个可导入文件，一次最多 " + MAX_FILES + " 个，请分批上传。", "alert"));
        return;
      }
      var seen = {};
      var dup = files.filter(function (f) { var d = seen[f.name]; seen[f.name] = true; return d; });
      if (dup.length) {
        chosen.appendChild(el("li", "文件名重复：“" + dup[0].name + "”（不同文件夹中的同名文件请分批上传）。", "alert"));
        return;
      }
      var data = new FormData();
      files.forEach(function (f) { data.append("files", f, f.name); });
      var progress = document.getElementById("upload-progress");
      var bar = document.getElementById("upload-bar");
      var status = document.getElementById("upload-status");
      var box = document.getElementById("upload-report");
      progress.hidden = false;
      box.textContent = "";
      bar.value = 0;
      status.textContent = "正在上传…";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/v1/documents");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) bar.value = Math.round(30 * ev.loaded / ev.total);
      };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
        if (xhr.status !== 202) {
          status.textContent = "上传失败：" + (typeof body.detail === "string" ? body.detail : xhr.status);
          return;
        }
        files = [];
        skipped = [];
        show();
        bar.value = 30;
        poll(body.status_url, bar, status, box);
      };
      xhr.onerror = function () { status.textContent = "上传失败，请检查网络后重试。"; };
      xhr.send(data);
    });
  }

  function setupConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setupUpload(); setupConfirm(); });
})();
