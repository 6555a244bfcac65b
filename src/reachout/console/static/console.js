// Reachout console: the little JavaScript the pages use. Everything works without it, except that
// repeating rows then come in their fixed number and the live page reloads itself whole.
"use strict";

// Forms that ask before they act (delete).
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// "Add a row": copies the last row of its group, its fields emptied and numbered as the next row
// (fields are named GROUP-N-FIELD, and their ids are their names).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const group = document.getElementById(button.getAttribute("data-add-row"));
  const rows = group.querySelectorAll(".row");
  let next = 0;
  group.querySelectorAll("[name]").forEach((field) => {
    const found = /^\w+-(\d+)-/.exec(field.name);
    if (found) next = Math.max(next, Number(found[1]));
  });
  next += 1;
  const renumber = (text) => text.replace(/^(\w+)-\d+-/, `$1-${next}-`);
  const copy = rows[rows.length - 1].cloneNode(true);
  copy.querySelectorAll(".field-error").forEach((note) => note.remove());
  copy.querySelectorAll("label[for]").forEach((label) => { label.htmlFor = renumber(label.htmlFor); });
  copy.querySelectorAll("[id]").forEach((element) => { element.id = renumber(element.id); });
  copy.querySelectorAll("input, select").forEach((field) => {
    field.name = renumber(field.name);
    field.removeAttribute("aria-invalid");
    const hint = copy.querySelector(`#${field.id}-hint`);
    if (hint) field.setAttribute("aria-describedby", hint.id);
    else field.removeAttribute("aria-describedby");
    if (field.type === "hidden") return;
    if (field.type === "checkbox" || field.type === "radio") field.checked = false;
    else if (field.tagName === "SELECT") Array.from(field.options).forEach((option, i) => { option.selected = !field.multiple && i === 0; });
    else field.value = field.defaultValue && field.name.endsWith("-max_attempts") ? "2" : "";
  });
  group.appendChild(copy);
  const first = copy.querySelector("input:not([type=hidden]), select");
  if (first) first.focus();
});

// Settings that belong to one choice (a channel, a kind of recipients) show only while it is chosen:
// data-when="NAME=VALUE[,VALUE]" follows the radio buttons named NAME.
const choices = document.querySelectorAll("[data-when]");
const follow = () => choices.forEach((part) => {
  const [name, wanted] = part.getAttribute("data-when").split("=");
  const checked = document.querySelector(`input[type=radio][name="${name}"]:checked`);
  part.hidden = !(checked && wanted.split(",").includes(checked.value));
});
if (choices.length) {
  document.addEventListener("change", (event) => { if (event.target.type === "radio") follow(); });
  follow();
}

// The live page: its figures come again every few seconds as an HTML fragment of the same page.
const live = document.querySelector("[data-live]");
if (live) {
  const every = Number(live.getAttribute("data-every") || "5") * 1000;
  const refresh = async () => {
    try {
      const answer = await fetch(live.getAttribute("data-live"), {credentials: "same-origin", cache: "no-store"});
      if (answer.ok) {
        live.innerHTML = await answer.text();
        // The state moved on (say, to Completed): the head offers the actions it now allows.
        const fresh = live.querySelector("#live-actions"), shown = document.querySelector(".head .actions");
        const actions = fresh && fresh.content.querySelector(".actions");
        if (actions && shown && actions.dataset.state !== shown.dataset.state) shown.replaceWith(actions);
        // And the footer's clock reads the instant the figures are of.
        const clock = document.querySelector(".foot time"), now = live.querySelector("#live-now");
        if (clock && now) { clock.dateTime = now.dateTime; clock.textContent = now.textContent; }
      }
    } catch (error) {
      // The server is away for a moment: the next round tries again.
    }
    window.setTimeout(refresh, every);
  };
  window.setTimeout(refresh, every);
}
