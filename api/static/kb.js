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
        status.textContent = (STATUS[job.status] || job.status) + "：" + job.processed + " / " + job.total + " 个文件";
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

  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var input = document.getElementById("upload-files");
    var zone = document.getElementById("dropzone");
    var chosen = document.getElementById("upload-chosen");
    var files = [];
    function show() {
      chosen.textContent = "";
      files.forEach(function (f) { chosen.appendChild(el("li", f.name)); });
    }
    input.addEventListener("change", function () { files = Array.prototype.slice.call(input.files); show(); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      files = files.concat(Array.prototype.slice.call(e.dataTransfer.files));
      show();
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!files.length) { chosen.textContent = "请先选择文件。"; return; }
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
