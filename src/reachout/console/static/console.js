// Reachout console: the little JavaScript the pages use. Everything works without it, except that
// repeating rows then come in their fixed number and the live page reloads itself whole.
"use strict";

// Forms that ask before they act (delete).
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// "Add a row": copies the last row of its group, with its fields emptied and its ids made unique.
let added = 0;
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const group = document.getElementById(button.getAttribute("data-add-row"));
  const rows = group.querySelectorAll(".row");
  const copy = rows[rows.length - 1].cloneNode(true);
  added += 1;
  copy.querySelectorAll("[id]").forEach((element) => {
    const id = element.id + "-added" + added;
    const label = copy.querySelector(`label[for="${element.id}"]`);
    if (label) label.htmlFor = id;
    element.id = id;
  });
  copy.querySelectorAll("input, select").forEach((field) => {
    if (field.type === "checkbox" || field.type === "radio") field.checked = false;
    else if (field.tagName === "SELECT") field.selectedIndex = 0;
    else field.value = "";
    field.removeAttribute("aria-invalid");
  });
  copy.querySelectorAll(".field-error").forEach((note) => note.remove());
  group.appendChild(copy);
  const first = copy.querySelector("input, select");
  if (first) first.focus();
});

// The live page: its figures come again every few seconds as an HTML fragment of the same page.
const live = document.querySelector("[data-live]");
if (live) {
  const every = Number(live.getAttribute("data-every") || "5") * 1000;
  const refresh = async () => {
    try {
      const answer = await fetch(live.getAttribute("data-live"), {credentials: "same-origin", cache: "no-store"});
      if (answer.ok) live.innerHTML = await answer.text();
    } catch (error) {
      // The server is away for a moment: the next round tries again.
    }
    window.setTimeout(refresh, every);
  };
  window.setTimeout(refresh, every);
}
