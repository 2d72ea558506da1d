// Behaviour every page shares, kept out of the markup so the Content Security Policy allows no inline script.
// <select data-autosubmit> submits its form when the choice changes (the account pickers).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
