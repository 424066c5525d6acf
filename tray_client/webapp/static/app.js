// The app's pages: plain DOM, no framework. Every change goes through the JSON API with the CSRF token.
"use strict";
let CSRF = "";
const $ = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (key === "text") node.textContent = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
};
const main = () => document.getElementById("page");

function status(message, kind = "ok") {
  const box = document.getElementById("status");
  box.textContent = message;
  box.className = kind;
  clearTimeout(status.timer);
  status.timer = setTimeout(() => { box.textContent = ""; }, 6000);
}

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") {
    options.headers["X-CSRF-Token"] = CSRF;
    status("…", "busy");  // a change in flight: the last change's message is gone
  }
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : {};
  if (!response.ok) {
    const error = new Error(data.error || `${response.status} ${response.statusText}`);
    error.errors = data.errors || {};
    throw error;
  }
  return data;
}

function download(name, text, type) {
  const link = $("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

// --- Settings ------------------------------------------------------------------------------------------------

const MODIFIERS = { Control: "ctrl", Alt: "alt", Shift: "shift", Meta: "cmd" };
const NAMED = { " ": "space", Enter: "enter", Tab: "tab", Escape: "esc", Home: "home", End: "end",
  Insert: "insert", Delete: "delete", PageUp: "page_up", PageDown: "page_down", ArrowUp: "up",
  ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", Pause: "pause", Backspace: "backspace" };

function hotkeyFrom(event) {
  // A key press as the tray's hotkey text ("<ctrl>+<alt>+d"); null while only modifiers are down.
  if (MODIFIERS[event.key]) return null;
  let key = NAMED[event.key] ? `<${NAMED[event.key]}>` : /^F\d{1,2}$/.test(event.key) ? `<${event.key.toLowerCase()}>`
    : event.code.startsWith("Key") ? event.code.slice(3).toLowerCase()
    : event.code.startsWith("Digit") ? event.code.slice(5) : event.key.length === 1 ? event.key.toLowerCase() : null;
  if (key === null) return null;
  const mods = [["ctrl", event.ctrlKey], ["alt", event.altKey], ["shift", event.shiftKey], ["cmd", event.metaKey]]
    .filter(([, down]) => down).map(([name]) => `<${name}>`);
  return [...mods, key].join("+");
}

function fieldInput(field) {
  const id = `f-${field.name}`;
  if (field.kind === "bool") return $("input", { type: "checkbox", id, name: field.name, checked: field.value });
  if (field.kind === "choice") {
    return $("select", { id, name: field.name },
      field.choices.map((choice) => $("option", { value: choice, selected: choice === field.value, text: choice })));
  }
  const input = $("input", { type: "text", id, name: field.name, value: String(field.value),
    "aria-describedby": `${id}-doc ${id}-error`, inputmode: field.kind === "number" ? "decimal" : undefined });
  if (!field.name.startsWith("hotkey_")) return input;
  const record = $("button", { type: "button", text: t("record"), "data-record": field.name });
  record.addEventListener("click", () => {
    input.value = "";
    input.placeholder = t("press_keys");
    input.focus();
    const listen = (event) => {
      event.preventDefault();
      const spec = hotkeyFrom(event);
      if (spec === null) return;
      input.value = spec;
      input.placeholder = "";
      input.removeEventListener("keydown", listen);
    };
    input.addEventListener("keydown", listen);
  });
  return $("span", {}, input, " ", record);
}

async function settingsPage(root) {
  const data = await api("GET", "/api/settings");
  const form = $("form", { id: "settings-form", novalidate: true });
  for (const group of data.groups) {
    const set = $("fieldset", { "data-group": group.name }, $("legend", { text: t(`g_${group.name}`) }));
    for (const field of group.fields) {
      const id = `f-${field.name}`;
      set.append($("div", { class: "field", "data-field": field.name },
        $("label", { for: id }, field.name.replaceAll("_", " "),
          $("span", { class: "when", text: field.live ? t("applied_now") : t("next_start") })),
        $("div", {}, fieldInput(field)),
        $("div", { class: "doc", id: `${id}-doc`, text: field.doc }),
        $("div", { class: "error", id: `${id}-error`, role: "alert" })));
    }
    form.append(set);
  }
  form.append($("div", { class: "toolbar" }, $("button", { type: "submit", class: "primary", text: t("save") }),
    $("span", { class: "muted", text: `${t("config_file")}: ${data.config_file}` })));
  root.append(form);
  await settingsExtras(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = {};
    for (const input of form.querySelectorAll("[name]")) {
      values[input.name] = input.type === "checkbox" ? input.checked : input.value;
    }
    for (const box of form.querySelectorAll(".error")) box.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    try {
      const result = await api("POST", "/api/settings", values);
      if (!result.saved.length) return status(t("nothing_changed"));
      const parts = [];
      if (result.live.length) parts.push(`${result.live.join(", ")}: ${t("applied_now")}`);
      if (result.later.length) parts.push(`${result.later.join(", ")}: ${t("next_start")}`);
      status(`${t("saved")}. ${parts.join("; ")}`);
    } catch (error) {
      showErrors(form, error);
    }
  });
}

async function settingsExtras(form) {
  // What is not a config key: Test connection, the microphones with a live meter, start at login.
  const server = form.querySelector('[data-field="server"] > div');
  const result = $("span", { class: "muted", id: "connection-result" });
  server.append(" ", $("button", { type: "button", id: "test-connection", text: t("test_connection"), on: {
    click: async () => {
      result.textContent = "…";
      const health = await api("GET", "/api/health");
      result.textContent = health.ok ? `${t("healthy")} · ${health.ms} ms · ${health.health.model || ""}`
        : `${t("unreachable")}: ${health.error}`;
    } } }), " ", result);
  const startup = await api("GET", "/api/startup");
  const device = form.querySelector("#f-input_device");
  if (startup.devices.length) {
    device.setAttribute("list", "devices");
    form.append($("datalist", { id: "devices" }, startup.devices.map((name) => $("option", { value: name }))));
  }
  const meter = $("meter", { id: "mic-level", min: 0, max: 1, value: 0, "aria-label": t("level") });
  const meterNote = $("span", { class: "muted", id: "mic-level-note" });
  let source = null;
  const listen = $("button", { type: "button", id: "mic-listen", text: t("listen"), on: { click: () => {
    if (source) { source.close(); source = null; listen.textContent = t("listen"); meter.value = 0; return; }
    source = new EventSource(`/api/level?${new URLSearchParams({ device: device.value })}`);
    listen.textContent = t("stop");
    source.onmessage = (event) => {
      const data = JSON.parse(event.data);
      meter.value = data.level;
      meter.dataset.seen = "true";
      meterNote.textContent = data.error;
    };
    source.onerror = () => { meterNote.textContent = t("meter_unavailable"); };
  } } });
  device.parentElement.append(" ", listen, " ", meter, " ", meterNote);
  if (startup.autostart !== null) {
    const box = $("input", { type: "checkbox", id: "f-autostart", checked: startup.autostart, on: { change: async () => {
      await api("POST", "/api/autostart", { enabled: box.checked });
      status(t("saved"));
    } } });
    form.querySelector('[data-group="startup"]').append($("div", { class: "field" },
      $("label", { for: "f-autostart", text: t("autostart") }), $("div", {}, box)));
  }
}

function showErrors(form, error) {
  let first = null;
  for (const [name, message] of Object.entries(error.errors || {})) {
    const box = form.querySelector(`#f-${name}-error`);
    const input = form.querySelector(`[name="${name}"]`);
    if (box) box.textContent = message;
    if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
  }
  status(Object.keys(error.errors || {}).length ? t("refused") : error.message, "error");
  first?.focus();
}

// --- History -------------------------------------------------------------------------------------------------

const ms = (seconds) => (seconds === null || seconds === undefined ? "–" : `${Math.round(seconds * 1000)} ms`);

async function historyPage(root) {
  const search = $("input", { type: "search", id: "history-search", placeholder: t("search"), "aria-label": t("search") });
  const app = $("select", { id: "history-app", "aria-label": t("app") }, $("option", { value: "", text: t("all_apps") }));
  const from = $("input", { type: "date", id: "history-from", "aria-label": t("from") });
  const to = $("input", { type: "date", id: "history-to", "aria-label": t("to") });
  const query = () => new URLSearchParams({ q: search.value, app: app.value, from: from.value, to: to.value });
  const exportLink = (fmt, label) => $("a", { href: "#", id: `export-${fmt}`, role: "button", text: label, on: {
    click: async (event) => {
      event.preventDefault();
      const response = await fetch(`/api/export/${fmt}?${query()}`, { credentials: "same-origin" });
      download(`dictation-history.${fmt}`, await response.text(), response.headers.get("Content-Type"));
    } } });
  const table = $("table", { id: "history-table" });
  const recovered = $("section", { id: "recovered", hidden: true });
  root.append(recovered, $("div", { class: "toolbar" }, search, app, $("label", {}, t("from"), " ", from),
    $("label", {}, t("to"), " ", to), exportLink("csv", t("export_csv")), exportLink("json", t("export_json"))), table);
  let canType = false;
  const load = async () => {
    const data = await api("GET", `/api/history?${query()}`);
    canType = data.can_type;
    const chosen = app.value;
    app.replaceChildren($("option", { value: "", text: t("all_apps") }),
      ...data.apps.map((name) => $("option", { value: name, selected: name === chosen, text: name })));
    table.replaceChildren($("thead", {}, $("tr", {}, [t("time"), t("app"), t("text"), t("latency"), ""]
      .map((label) => $("th", { scope: "col", text: label })))));
    const body = $("tbody");
    if (!data.entries.length) body.append($("tr", {}, $("td", { colspan: 5, class: "muted", text: t("no_entries") })));
    for (const entry of data.entries) body.append(historyRow(entry, canType, load));
    table.append(body);
    table.dataset.shown = query().toString();  // what the rows answer (tests wait on it)
  };
  let timer;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 150); });
  for (const input of [app, from, to]) input.addEventListener("change", load);
  await load();
  await recoveredList(recovered, load, () => canType);
}

function heardBox(id, result, canType) {
  // New words for old audio: shown to copy or type (into the next window the user clicks), never typed by themselves.
  return $("div", { class: "heard", id },
    $("span", { class: "muted", text: `${t("heard_now")}: ` }), $("span", { class: "heard-text", text: result.text }),
    " ", $("button", { type: "button", text: t("copy"), on: { click: async () => {
      await navigator.clipboard.writeText(result.text); status(t("copied")); } } }),
    canType ? [" ", $("button", { type: "button", class: "type-heard", text: t("type_again"), on: { click: async () => {
      await api("POST", "/api/type", { text: result.text }); status(t("typing_soon")); } } })] : null);
}

async function recoveredList(section, reloadHistory, canType) {
  const data = await api("GET", "/api/recovered");
  section.hidden = !data.recordings.length;
  section.replaceChildren($("h2", { text: t("recovered") }), $("p", { class: "muted", text: t("recovered_doc") }));
  const list = $("ul", { id: "recovered-list" });
  for (const item of data.recordings) {
    const name = encodeURIComponent(item.name);
    const row = $("li", { "data-name": item.name },
      $("span", { text: `${new Date(item.time * 1000).toLocaleString()} · ${item.audio_s} s ` }),
      $("audio", { controls: true, preload: "none", src: `/api/recovered/${name}/audio`, "aria-label": t("play") }),
      " ");
    row.append($("button", { type: "button", class: "transcribe", text: t("transcribe"), on: { click: async (event) => {
      event.target.disabled = true;
      status(t("sending"), "busy");
      try {
        const result = await api("POST", `/api/recovered/${name}/transcribe`);
        row.replaceChildren($("span", { class: "muted", text: `${t("transcribed")} · ` }),
          heardBox(`heard-${item.name}`, result, canType()));
        row.dataset.done = "true";
        status(t("transcribed"));
        await reloadHistory();
      } catch (error) {
        event.target.disabled = false;
        status(error.message, "error");
      } } } }));
    list.append(row);
  }
  section.append(list);
}

function historyRow(entry, canType, reload) {
  const when = new Date(entry.time * 1000);
  const parts = `${t("silence")} ${ms(entry.silence_s)} · ${t("server")} ${ms(entry.server_s)} · ${t("typing")} ${ms(entry.typing_s)}`;
  return $("tr", { "data-id": entry.id },
    $("td", { text: when.toLocaleString(), title: entry.iso_time }),
    $("td", { text: entry.target_app || "–" }),
    $("td", { class: "text" }, $("div", { class: "typed", text: entry.text }),
      entry.raw !== entry.text ? $("div", { class: "raw", text: `${t("raw")}: ${entry.raw}` }) : null),
    $("td", {}, ms(entry.latency_s), $("div", { class: "parts", text: parts })),
    $("td", { class: "actions" },
      $("button", { type: "button", text: t("copy"), on: { click: async () => {
        await navigator.clipboard.writeText(entry.text); status(t("copied")); } } }),
      " ",
      canType ? $("button", { type: "button", text: t("type_again"), on: { click: async () => {
        await api("POST", `/api/history/${entry.id}/type`); status(t("typing_soon")); } } }) : null,
      " ",
      entry.audio ? $("button", { type: "button", class: "retranscribe", text: t("retranscribe"), on: { click: async (event) => {
        const cell = event.target.closest("tr").querySelector("td.text");
        event.target.disabled = true;
        status(t("sending"), "busy");
        try {
          const result = await api("POST", `/api/history/${entry.id}/retranscribe`);
          cell.querySelector(".heard")?.remove();
          cell.append(heardBox(`heard-${entry.id}`, result, canType));
          status(t("heard_now"));
        } catch (error) {
          status(error.message, "error");
        } finally {
          event.target.disabled = false;
        } } } }) : null,
      " ",
      $("button", { type: "button", text: t("delete"), on: { click: async () => {
        await api("DELETE", `/api/history/${entry.id}`); status(t("deleted")); await reload(); } } }),
      entry.audio ? $("div", {}, $("audio", { controls: true, preload: "none", src: `/api/history/${entry.id}/audio`,
        "aria-label": t("play") })) : null));
}

// --- Dictionary ----------------------------------------------------------------------------------------------

async function dictionaryPage(root) {
  const data = await api("GET", "/api/dictionary");
  const form = $("form", { id: "dictionary-form" });
  for (const name of ["glossary", "replacements", "commands"]) {
    const id = `f-${name}`;
    const area = $("textarea", { id, name, spellcheck: "false", "aria-describedby": `${id}-doc` });
    area.value = data[name];
    const file = $("input", { type: "file", accept: ".txt,text/plain", hidden: true, on: { change: async () => {
      area.value = await file.files[0].text(); } } });
    form.append($("fieldset", {}, $("legend", {}, $("label", { for: id, text: t(name) })),
      $("p", { class: "muted", id: `${id}-doc`, text: t(`${name}_doc`) }), area,
      $("div", { class: "error", id: `${id}-error`, role: "alert" }),
      $("div", { class: "toolbar" }, file,
        $("button", { type: "button", text: t("import"), on: { click: () => file.click() } }),
        $("button", { type: "button", text: t("export"), on: { click: () =>
          download(`${name}.txt`, area.value, "text/plain;charset=utf-8") } }))));
  }
  form.append($("button", { type: "submit", class: "primary", text: t("save") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const box of form.querySelectorAll(".error")) box.textContent = "";
    try {
      const result = await api("POST", "/api/dictionary", Object.fromEntries(
        ["glossary", "replacements", "commands"].map((name) => [name, form.elements[name].value])));
      status(result.saved.length ? t("saved") : t("nothing_changed"));
    } catch (error) {
      showErrors(form, error);
    }
  });
  root.append(form);
}

// --- Profiles ------------------------------------------------------------------------------------------------

async function profilesPage(root) {
  const data = await api("GET", "/api/profiles");
  const table = $("table", { id: "profiles-table" });
  const head = $("tr", {}, [t("app"), t("output"), t("voice_commands"), t("language"), t("glossary"), t("suffix"), ""]
    .map((label) => $("th", { scope: "col", text: label })));
  table.append($("thead", {}, head));
  const body = $("tbody");
  table.append(body);
  const tri = (value) => (value === true ? "on" : value === false ? "off" : "");
  const addRow = (name, profile) => {
    const cell = (input) => $("td", {}, input);
    body.append($("tr", { "data-app": name },
      $("th", { scope: "row", text: name }),
      cell($("select", { "data-key": "output", "aria-label": `${name} ${t("output")}` },
        ["", "type", "clipboard"].map((v) => $("option", { value: v, selected: (profile.output || "") === v, text: v || t("default") })))),
      cell($("select", { "data-key": "voice_commands", "aria-label": `${name} ${t("voice_commands")}` },
        ["", "on", "off"].map((v) => $("option", { value: v, selected: tri(profile.voice_commands) === v, text: v ? t(v) : t("default") })))),
      cell($("input", { type: "text", "data-key": "language", value: profile.language || "", size: 4, "aria-label": `${name} ${t("language")}` })),
      cell($("input", { type: "text", "data-key": "glossary", value: (profile.glossary || []).join(", "), "aria-label": `${name} ${t("glossary")}` })),
      cell($("input", { type: "text", "data-key": "suffix", value: profile.suffix || "", size: 6, "aria-label": `${name} ${t("suffix")}` })),
      $("td", {}, $("button", { type: "button", text: t("remove"), on: { click: (event) => event.target.closest("tr").remove() } }))));
  };
  for (const [name, profile] of Object.entries(data.apps)) addRow(name, profile);
  const newApp = $("input", { type: "text", id: "new-app", list: "recent-apps", "aria-label": t("app_name"), placeholder: t("app_name") });
  const save = async () => {
    const apps = {};
    for (const row of body.querySelectorAll("tr")) {
      const profile = {};
      for (const input of row.querySelectorAll("[data-key]")) {
        const key = input.dataset.key;
        profile[key] = key === "voice_commands" ? (input.value === "" ? null : input.value === "on") : input.value;
      }
      apps[row.dataset.app] = profile;
    }
    try {
      const result = await api("POST", "/api/profiles", { apps });
      status(result.saved.length ? t("saved") : t("nothing_changed"));
    } catch (error) {
      status(Object.values(error.errors || {}).join("; ") || error.message, "error");
    }
  };
  root.append($("div", { class: "toolbar" }, newApp,
    $("datalist", { id: "recent-apps" }, data.suggestions.map((name) => $("option", { value: name, label: t("used_lately") }))),
    $("button", { type: "button", id: "add-profile", text: t("add_profile"), on: { click: () => {
      const name = newApp.value.trim();
      if (name && !body.querySelector(`tr[data-app="${CSS.escape(name)}"]`)) addRow(name, {});
      newApp.value = "";
    } } }),
    data.suggestions.length ? $("span", { class: "muted", text: `${t("used_lately")}: ${data.suggestions.join(", ")}` }) : null),
  table, $("div", { class: "toolbar" }, $("button", { type: "button", class: "primary", id: "save-profiles", text: t("save"), on: { click: save } })));
}

// --- Stats ---------------------------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, text) => {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
};

function chart(days, series, unit, bars = false) {
  const width = 900, height = 220, left = 50, bottom = 30, top = 12;
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img" });
  const values = days.flatMap((day) => series.map(([key]) => day[key])).filter((v) => v !== null);
  const max = Math.max(...values, bars ? 1 : 0.1) * 1.1;
  const x = (i) => left + (days.length === 1 ? (width - left) / 2 : (i * (width - left - 20)) / (days.length - 1));
  const y = (v) => height - bottom - (v / max) * (height - bottom - top);
  root.append(svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width, y2: height - bottom }));
  for (const share of [0, 0.5, 1]) {
    root.append(svg("text", { x: 4, y: y(max * share / 1.1) + 4 }, unit(max * share / 1.1)));
  }
  days.forEach((day, i) => {
    if (days.length <= 14 || i % Math.ceil(days.length / 14) === 0) {
      root.append(svg("text", { x: x(i) - 16, y: height - 10 }, day.day.slice(5)));
    }
  });
  for (const [key, cls] of series) {
    if (bars) {
      days.forEach((day, i) => root.append(svg("rect", { class: cls, x: x(i) - 8, y: y(day[key]), width: 16,
        height: height - bottom - y(day[key]) }, undefined)));
      continue;
    }
    const points = days.map((day, i) => [i, day[key]]).filter(([, v]) => v !== null);
    root.append(svg("polyline", { class: cls, points: points.map(([i, v]) => `${x(i)},${y(v)}`).join(" ") }));
    for (const [i, v] of points) root.append(svg("circle", { class: cls, cx: x(i), cy: y(v), r: 3 }));
  }
  return root;
}

async function statsPage(root) {
  const data = await api("GET", "/api/stats");
  const health = $("div", { class: "card", id: "server-health" }, t("server_health"), $("b", { text: "…" }));
  const days = data.days;
  const today = days[days.length - 1];
  root.append($("div", { class: "cards" }, health,
    $("div", { class: "card" }, t("today_p50"), $("b", { text: today ? ms(today.p50_s) : "–" })),
    $("div", { class: "card" }, t("words"), $("b", { text: String(days.reduce((n, d) => n + d.words, 0)) }))));
  if (!days.length) {
    root.append($("p", { class: "muted", text: t("no_data") }));
  } else {
    root.append($("h2", { text: t("latency_chart") }),
      $("div", { class: "legend" }, $("span", { class: "p50", text: "p50 (ms)" }), $("span", { class: "p95", text: "p95 (ms)" })),
      chart(days, [["p50_s", "p50"], ["p95_s", "p95"]], (v) => `${Math.round(v * 1000)}`),
      $("h2", { text: t("words_chart") }), chart(days, [["words", "bar"]], (v) => String(Math.round(v)), true),
      $("h2", { text: t("parts") }),
      $("table", { id: "stats-table" }, $("thead", {}, $("tr", {}, [t("day"), t("utterances"), t("words"), "p50", "p95",
        t("silence"), t("server"), t("typing")].map((label) => $("th", { scope: "col", text: label })))),
      $("tbody", {}, days.slice().reverse().map((d) => $("tr", {}, [d.day, d.utterances, d.words, ms(d.p50_s),
        ms(d.p95_s), ms(d.silence_s), ms(d.server_s), ms(d.typing_s)].map((v) => $("td", { text: String(v) })))))));
  }
  api("GET", "/api/health").then((result) => {
    const h = result.health || {};
    health.querySelector("b").textContent = result.ok ? `${t("healthy")} · ${result.ms} ms` : t("unreachable");
    health.append($("div", { class: "muted", text: result.ok ? `${h.model || ""} ${h.backend || ""}` : result.error }));
    health.dataset.checked = "true";
  }, () => { health.querySelector("b").textContent = t("unreachable"); health.dataset.checked = "true"; });
}

// --- Pages and start -----------------------------------------------------------------------------------------

const PAGES = { settings: settingsPage, history: historyPage, dictionary: dictionaryPage, profiles: profilesPage,
  stats: statsPage };

async function show() {
  const name = PAGES[location.hash.slice(1)] ? location.hash.slice(1) : "settings";
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.dataset.page === name);
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
  }
  document.title = `${t(name)} · Dictation`;
  const root = main();
  root.replaceChildren();
  root.dataset.page = name;
  try {
    await PAGES[name](root);
    root.dataset.ready = name;
  } catch (error) {
    root.append($("p", { class: "error", role: "alert", text: error.message }));
  }
}

async function start() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  const theme = localStorage.getItem("theme");
  if (theme) document.documentElement.dataset.theme = theme;
  document.getElementById("theme").addEventListener("click", () => {
    const dark = getComputedStyle(document.body).backgroundColor !== "rgb(250, 250, 250)";
    document.documentElement.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("theme", document.documentElement.dataset.theme);
  });
  CSRF = (await api("GET", "/api/session")).csrf;
  window.addEventListener("hashchange", show);
  await show();
}

start();
