/* leadgate pages: small enhancements on top of forms that work without this script. */
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function csrfOf(form) { var i = form && form.querySelector("input[name=csrf_token]"); return i ? i.value : ""; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* A notice is said once: reloading the page should not say it again. */
  if (window.history.replaceState && /[?&]notice=/.test(window.location.search)) {
    var url = new URL(window.location.href);
    url.searchParams.delete("notice");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  /* Buttons that ask first. */
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) ev.preventDefault();
  });

  /* Copy a secret shown once. */
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-copy]");
    if (!b) return;
    var text = document.getElementById(b.getAttribute("data-copy")).textContent;
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; });
    }
  });

  /* The review queue: one box selects (or clears) every lead on the page. */
  $$("[data-bulk-select]").forEach(function (form) {
    var all = $("[data-select-all]", form);
    var boxes = $$("input[name=lead_id]", form);
    if (!all) return;
    function sync() {
      var checked = boxes.filter(function (b) { return b.checked; }).length;
      all.checked = checked > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      sync();
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
  });

  /* Campaign form fields: add a row, move rows (the server keeps the order rows are sent in). */
  $$("[data-field-editor]").forEach(function (form) {
    var body = $("[data-rows]", form);
    var next = $$("[data-row]", body).length;
    var add = $("[data-add-field]", form);
    function renumber() {
      $$("[data-row]", body).forEach(function (row, i) {
        $$("label", row).forEach(function (l) { l.textContent = l.textContent.replace(/field \d+/, "field " + (i + 1)); });
        $$("[aria-label]", row).forEach(function (b) {
          b.setAttribute("aria-label", b.getAttribute("aria-label").replace(/field \d+/, "field " + (i + 1)));
        });
      });
    }
    if (add) add.addEventListener("click", function () {
      var blank = $("[data-blank]", body);
      var copy = blank.cloneNode(true);
      var index = String(next++);
      $$("[name],[id],[for]", copy).forEach(function (e) {
        ["name", "id", "for"].forEach(function (a) {
          var v = e.getAttribute(a);
          if (v) e.setAttribute(a, v.replace(/fields\.\d+\./, "fields." + index + "."));
        });
        if (e.tagName === "INPUT" && e.type !== "checkbox") e.value = "";
        if (e.type === "checkbox") e.checked = false;
      });
      blank.removeAttribute("data-blank");
      body.appendChild(copy);
      renumber();
      $("input", copy).focus();
    });
    // The example of choices only on a choice field: other types take no options.
    form.addEventListener("change", function (ev) {
      if (!/\.type$/.test(ev.target.name || "")) return;
      var options = $("input[name$='.options']", ev.target.closest("[data-row]"));
      if (ev.target.value === "select") options.setAttribute("placeholder", "US; CA; GB");
      else options.removeAttribute("placeholder");
    });
    form.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-move]");
      if (!b) return;
      var row = b.closest("[data-row]");
      if (b.getAttribute("data-move") === "up" && row.previousElementSibling) {
        row.parentNode.insertBefore(row, row.previousElementSibling);
      } else if (b.getAttribute("data-move") === "down" && row.nextElementSibling) {
        row.parentNode.insertBefore(row.nextElementSibling, row);
      }
      renumber();
      b.focus();
    });
  });

  /* Repeating groups of a generated form (e.g. conditions). */
  $$("[data-group]").forEach(function (group) {
    var rows = $(".rows", group);
    var template = $("template", group);
    var counter = $$("[data-row]", rows).length;
    function renumber() {
      $$("[data-row] > legend", rows).forEach(function (legend, i) {
        legend.textContent = legend.textContent.replace(/\d+\s*$/, "") .trim() + " " + (i + 1);
      });
    }
    $("[data-add-row]", group).addEventListener("click", function () {
      var max = parseInt(group.getAttribute("data-max") || "0", 10);
      if (max && $$("[data-row]", rows).length >= max) return;
      var html = template.innerHTML.replace(/__index__/g, String(counter++));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      rows.appendChild(row);
      renumber();
      wireOptions(row.closest("form"));
      var first = $("input,select,textarea", row);
      if (first) first.focus();
    });
    group.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-remove-row]");
      if (!b) return;
      b.closest("[data-row]").remove();
      renumber();
      $("[data-add-row]", group).focus();
    });
  });

  /* Dropdowns filled by the job type's options service; refilled when the fields they depend
     on change, with the service's error shown beside them. */
  function configOf(form) {
    var config = {};
    $$("[name^='config.']", form).forEach(function (input) {
      var key = input.name.slice("config.".length);
      if (key.indexOf(".") >= 0) return;
      if (input.type === "checkbox") {
        if (input.closest("[data-options-field]")) {
          if (input.checked) (config[key] = config[key] || []).push(input.value);
        } else config[key] = input.checked;
      } else if (input.value !== "") config[key] = input.value;
    });
    return config;
  }

  function refill(form, select) {
    var field = select.closest("[data-options-field]");
    var note = field.querySelector(".note");
    var error = field.querySelector(".error");
    var deps = (select.getAttribute("data-depends-on") || "").split(" ").filter(Boolean);
    var missing = deps.filter(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      return input && input.value.trim() === "" && !input.dataset.stored;
    });
    var keep = select.value;
    function reset(text) {
      while (select.options.length) select.remove(0);
      select.add(new Option(text, ""));
    }
    error.hidden = true;
    error.textContent = "";
    select.removeAttribute("aria-invalid");
    if (missing.length) {
      reset("—");
      note.textContent = "Fill in " + missing.map(function (name) {
        var label = form.querySelector("label[for='f-" + name + "']");
        return label ? label.firstChild.textContent.trim() : name;
      }).join(" and ") + " first.";
      select.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    note.textContent = "Loading choices…";
    select.setAttribute("aria-busy", "true");
    var body = {
      field: select.getAttribute("data-options-key"),
      campaign_id: parseInt(select.getAttribute("data-campaign-id"), 10) || null,
      job_id: parseInt(select.getAttribute("data-job-id"), 10) || null,
      config: configOf(form)
    };
    fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfOf(form) },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      select.removeAttribute("aria-busy");
      note.textContent = "";
      reset("Choose…");
      if (!res.ok) {
        error.textContent = res.data.detail || "The choices could not be loaded.";
        error.hidden = false;
        select.setAttribute("aria-invalid", "true");
      } else {
        res.data.options.forEach(function (o) {
          var opt = new Option(o.label, String(o.value));
          if (String(o.value) === keep) opt.selected = true;
          select.add(opt);
        });
        if (!res.data.options.length) note.textContent = "Nothing to choose from.";
      }
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }).catch(function () {
      select.removeAttribute("aria-busy");
      note.textContent = "";
      error.textContent = "The choices could not be loaded: check your connection and try again.";
      error.hidden = false;
    });
  }

  function wireOptions(form) {
    if (!form || !form.getAttribute("data-options-url")) return;
    $$("select[data-depends-on]", form).forEach(function (select) {
      if (select.dataset.wired) return;
      select.dataset.wired = "1";
      var deps = (select.getAttribute("data-depends-on") || "").split(" ").filter(Boolean);
      var timer = null;
      deps.forEach(function (name) {
        var input = form.querySelector("[name='" + name + "']");
        if (!input) return;
        var last = input.value;
        function changed() {
          if (input.value === last) return;
          last = input.value;
          clearTimeout(timer);
          timer = setTimeout(function () { refill(form, select); }, input.tagName === "SELECT" ? 0 : 400);
        }
        input.addEventListener("input", changed);
        input.addEventListener("change", changed);
      });
    });
  }
  $$("form[data-options-url]").forEach(wireOptions);

  /* Mapping editors (a Connect delivery's field mapping): the client's fields beside ours,
     asked for again when what they depend on changes. A required client field left "not sent"
     is marked at once; the server checks the whole mapping when the job is saved. */
  function missingOf(form, deps) {
    return deps.filter(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      return input && input.value.trim() === "" && !input.dataset.stored;
    });
  }

  function labelOf(form, name) {
    var label = form.querySelector("label[for='f-" + name + "']");
    return label ? label.firstChild.textContent.trim() : name;
  }

  function markRow(row) {
    var select = $("select", row);
    var error = $(".error", row);
    var wrong = "";
    if (row.hasAttribute("data-gone")) {
      if (select.value) wrong = "The client's form has no such field any more: choose “not sent”.";
    } else if (row.hasAttribute("data-required") && !select.value) {
      wrong = "The client requires this field: choose one of ours.";
    }
    error.textContent = wrong;
    error.hidden = !wrong;
    row.classList.toggle("has-error", !!wrong);
    if (wrong) select.setAttribute("aria-invalid", "true"); else select.removeAttribute("aria-invalid");
  }

  $$("[data-mapping]").forEach(function (box) {
    var form = box.closest("form");
    var body = $("[data-mapping-body]", box);
    var deps = (box.getAttribute("data-depends-on") || "").split(" ").filter(Boolean);
    var timer = null;
    function say(cls, text) {
      body.innerHTML = "";
      body.appendChild(el("p", { class: cls }, text));
    }
    function reload() {
      var missing = missingOf(form, deps);
      if (missing.length) {
        say("note", "Fill in " + missing.map(function (n) { return labelOf(form, n); }).join(" and ") + " first.");
        return;
      }
      say("note", "Loading the client's form…");
      body.setAttribute("aria-busy", "true");
      fetch(box.getAttribute("data-mapping-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfOf(form) },
        body: JSON.stringify({
          campaign_id: parseInt(box.getAttribute("data-campaign-id"), 10) || null,
          job_id: parseInt(box.getAttribute("data-job-id"), 10) || null,
          key: box.getAttribute("data-mapping-key"),
          config: configOf(form)
        })
      }).then(function (r) {
        return r.text().then(function (text) { return { ok: r.ok, text: text }; });
      }).then(function (res) {
        body.removeAttribute("aria-busy");
        if (res.ok) { body.innerHTML = res.text; return; }
        var detail = "The client's form could not be loaded.";
        try { detail = JSON.parse(res.text).detail || detail; } catch (e) { /* not JSON */ }
        say("error", detail);
      }).catch(function () {
        body.removeAttribute("aria-busy");
        say("error", "The client's form could not be loaded: check your connection and try again.");
      });
    }
    deps.forEach(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      if (!input) return;
      var last = input.value;
      function changed() {
        if (input.value === last) return;
        last = input.value;
        clearTimeout(timer);
        timer = setTimeout(reload, input.tagName === "SELECT" ? 0 : 500);
      }
      input.addEventListener("input", changed);
      input.addEventListener("change", changed);
    });
    box.addEventListener("change", function (ev) {
      var row = ev.target.closest("[data-mapping-row]");
      if (!row) return;
      markRow(row);
      var issues = $("[data-mapping-issues]", box);
      if (issues && !$("[data-mapping-row].has-error", box)) issues.hidden = true;
    });
  });

  /* A Connect job's first sync runs in the background: its panel asks again until it is done. */
  function watchSync(panel, round) {
    if (round > 40) return;
    setTimeout(function () {
      fetch(panel.getAttribute("data-connect-panel"), { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (!html) return;
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (fresh && fresh.getAttribute("data-sync-state") !== panel.getAttribute("data-sync-state")) {
          panel.replaceWith(fresh);
        } else watchSync(panel, round + 1);
      }).catch(function () { watchSync(panel, round + 1); });
    }, 1500);
  }
  $$("[data-connect-panel][data-sync-state=pending]").forEach(function (panel) { watchSync(panel, 0); });

  /* "Add a job": a searchable list of job types (type to filter; arrows, Enter, Escape). */
  $$("select[data-combobox]").forEach(function (select, n) {
    var form = select.form;
    var field = select.closest(".field");
    var label = field.querySelector("label");
    var listId = "job-types-" + n;
    var input = el("input", {
      type: "text", id: select.id, role: "combobox", "aria-autocomplete": "list",
      "aria-expanded": "false", "aria-controls": listId, autocomplete: "off",
      placeholder: "Type to filter job types"
    });
    var list = el("ul", { id: listId, role: "listbox", class: "listbox", hidden: "" });
    list.setAttribute("aria-label", "Job types");
    var hidden = el("input", { type: "hidden", name: select.name });
    var items = Array.prototype.map.call(select.options, function (o, i) {
      var li = el("li", { role: "option", id: listId + "-" + i, "data-value": o.value, "aria-selected": "false" });
      li.appendChild(el("span", { class: "title" }, o.textContent));
      if (o.getAttribute("data-description")) li.appendChild(el("span", { class: "desc" }, o.getAttribute("data-description")));
      list.appendChild(li);
      return li;
    });
    // Shown instead of an empty strip when no type has every word typed.
    var none = el("li", { class: "none", role: "presentation", hidden: "" }, "No job type matches.");
    list.appendChild(none);
    var active = -1;
    select.removeAttribute("id");
    select.replaceWith(input);
    field.appendChild(list);
    field.appendChild(hidden);
    field.classList.add("combobox");
    label.setAttribute("for", input.id);
    var button = form.querySelector("button[type=submit]");
    if (button) button.textContent = "Add a job";

    function visible() { return items.filter(function (li) { return !li.hidden; }); }
    function open() { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); setActive(-1); }
    function setActive(i) {
      var shown = visible();
      items.forEach(function (li) { li.setAttribute("aria-selected", "false"); li.classList.remove("active"); });
      active = i;
      if (i >= 0 && shown[i]) {
        shown[i].setAttribute("aria-selected", "true");
        shown[i].classList.add("active");
        input.setAttribute("aria-activedescendant", shown[i].id);
        shown[i].scrollIntoView({ block: "nearest" });
      } else input.removeAttribute("aria-activedescendant");
    }
    function filter() {
      // Every word typed must appear somewhere in the title or description, in any order.
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      items.forEach(function (li) {
        var text = li.textContent.toLowerCase();
        li.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
      none.hidden = visible().length > 0;
      open();
      setActive(visible().length ? 0 : -1);
    }
    function choose(li) {
      hidden.value = li.getAttribute("data-value");
      input.value = li.querySelector(".title").textContent;
      close();
      form.submit();
    }
    input.addEventListener("input", filter);
    input.addEventListener("focus", filter);
    input.addEventListener("keydown", function (ev) {
      var shown = visible();
      if (ev.key === "ArrowDown") { ev.preventDefault(); if (list.hidden) filter(); else setActive(Math.min(active + 1, shown.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); setActive(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter") { ev.preventDefault(); if (shown[active]) choose(shown[active]); }
      else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    list.addEventListener("mousedown", function (ev) {
      var li = ev.target.closest("[role=option]");
      if (li) { ev.preventDefault(); choose(li); }
    });
    form.addEventListener("submit", function (ev) {
      if (!hidden.value) { ev.preventDefault(); input.focus(); filter(); }
    });
    if (button) button.addEventListener("click", function (ev) {
      if (!hidden.value) { ev.preventDefault(); input.focus(); filter(); }
    });
  });

  /* CSV import: upload with a progress bar, then the report of rejected lines. */
  $$("form[data-import]").forEach(function (form) {
    var fileInput = form.querySelector("input[type=file]");
    var progress = $("[data-progress]", form);
    var bar = $("progress", progress);
    var label = $("[data-progress-label]", form);
    var report = document.querySelector("[data-report]");
    var field = fileInput.closest(".field");
    function showError(text) {
      var error = field.querySelector(".error");
      if (!error) { error = el("p", { class: "error", id: "e-file" }); field.appendChild(error); }
      error.textContent = text;
      field.classList.add("has-error");
      fileInput.setAttribute("aria-invalid", "true");
      fileInput.setAttribute("aria-describedby", "e-file");
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = fileInput.files[0];
      var old = field.querySelector(".error");
      if (old) old.remove();
      field.classList.remove("has-error");
      fileInput.removeAttribute("aria-invalid");
      if (!file) { showError("Choose a CSV file to import."); return; }
      var params = "?mode=" + encodeURIComponent(form.elements.mode.value) +
        "&header=" + encodeURIComponent(form.elements.header.value);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("data-import") + params);
      xhr.setRequestHeader("Content-Type", "text/csv");
      xhr.setRequestHeader("X-CSRF-Token", csrfOf(form));
      progress.hidden = false;
      bar.value = 0;
      bar.setAttribute("value", "0");
      label.textContent = "Uploading… 0%";
      form.querySelector("button[type=submit]").disabled = true;
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round(100 * e.loaded / e.total);
        bar.value = pct;
        label.textContent = "Uploading… " + pct + "%";
      };
      xhr.upload.onload = function () {
        bar.removeAttribute("value");
        label.textContent = "Uploaded. Adding the values to the list…";
      };
      xhr.onload = function () {
        form.querySelector("button[type=submit]").disabled = false;
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status !== 200 || !data) {
          progress.hidden = true;
          showError((data && data.detail) || "The import failed (" + xhr.status + ").");
          return;
        }
        bar.value = 100;
        label.textContent = "Done.";
        renderReport(data);
      };
      xhr.onerror = function () {
        form.querySelector("button[type=submit]").disabled = false;
        progress.hidden = true;
        showError("The upload did not reach the server: check your connection and try again.");
      };
      xhr.send(file);
    });
    function renderReport(data) {
      report.innerHTML = "";
      var p = el("p", { role: "status" });
      p.appendChild(el("strong", {}, "Imported. "));
      p.appendChild(document.createTextNode(data.added + " added, " + data.removed +
        " removed; the list now has " + data.value_count + " values (version " + data.version + ")."));
      report.appendChild(p);
      if (data.rejected.length) {
        var table = el("table");
        table.appendChild(el("caption", {}, data.rejected.length + " line" + (data.rejected.length > 1 ? "s" : "") + " not imported"));
        var head = el("thead"); var hr = el("tr");
        hr.appendChild(el("th", { scope: "col" }, "Line")); hr.appendChild(el("th", { scope: "col" }, "Why"));
        head.appendChild(hr); table.appendChild(head);
        var tbody = el("tbody");
        data.rejected.slice(0, 500).forEach(function (r) {
          var tr = el("tr"); tr.appendChild(el("td", {}, String(r.line))); tr.appendChild(el("td", {}, r.reason));
          tbody.appendChild(tr);
        });
        table.appendChild(tbody);
        report.appendChild(table);
      }
      report.hidden = false;
      var count = document.querySelector("[data-value-count]");
      if (count) count.textContent = Number(data.value_count).toLocaleString("en-US");
      var version = document.querySelector("[data-version]");
      if (version) version.textContent = String(data.version);
    }
  });
})();
