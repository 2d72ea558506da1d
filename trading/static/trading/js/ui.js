// Small pieces of the page's furniture: toasts, tabs, keyboard shortcuts, a confirmation dialog.

// A toast that goes by itself after `ms` (errors stay twice as long); the container is a live region.
export function toast(container, text, kind = "info", ms = 6000) {
  // The container is the one live region: each toast is read once, as it is added.
  const item = document.createElement("div");
  item.className = `toast ${kind}`;
  item.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "link";
  close.textContent = "Dismiss";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  container.append(item);
  while (container.children.length > 4) container.firstElementChild.remove();
  setTimeout(() => item.remove(), kind === "bad" ? ms * 2 : ms);
  return item;
}

// ARIA tabs: click or arrow keys move between them; the chosen one is remembered.
export function tabsMount(list, storageKey) {
  const tabs = [...list.querySelectorAll('[role="tab"]')];
  function choose(tab, focus = false) {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    if (storageKey) localStorage.setItem(storageKey, tab.id);
  }
  for (const tab of tabs) {
    tab.addEventListener("click", () => choose(tab));
    tab.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(tab);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      choose(tabs[(next + tabs.length) % tabs.length], true);
    });
  }
  const saved = storageKey && document.getElementById(localStorage.getItem(storageKey) || "");
  choose(saved && tabs.includes(saved) ? saved : tabs[0]);
  return { choose: (id) => choose(document.getElementById(id)) };
}

// Whether a key press belongs to a field being typed in (shortcuts then stay out of the way).
export function typing(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  return tag === "input" || tag === "select" || tag === "textarea" || target.isContentEditable;
}

// Single-key shortcuts: {key: handler}. Esc is always handled; others not while typing or with modifiers.
export function shortcutsMount(handlers) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key !== "Escape" && typing(event.target)) return;
    if (document.querySelector("dialog[open]") && event.key !== "Escape") return;
    const handler = handlers[event.key] || handlers[event.key.toLowerCase()];
    if (!handler) return;
    if (handler(event) !== false) event.preventDefault();
  });
}

// A <dialog> asked as a question: resolves true when closed with the confirming button's value. Its
// cancel buttons are type="button" (marked data-cancel), so Enter in a field confirms, and Esc cancels.
export function ask(dialog, value = "confirm") {
  if (!dialog.dataset.cancelWired) {
    for (const button of dialog.querySelectorAll("[data-cancel]")) button.addEventListener("click", () => dialog.close("cancel"));
    dialog.dataset.cancelWired = "1";
  }
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === value), { once: true });
    dialog.showModal();
  });
}
