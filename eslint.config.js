// The JavaScript linter (`make test` runs it): ESLint's recommended rules over the pages' modules and
// their unit tests. Third-party libraries come from npm and are not linted.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**", ".venv/**", ".data/**", "**/vendor/**", "**/staticfiles/**"] },
  js.configs.recommended,
  {
    files: ["**/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, LightweightCharts: "readonly" },
    },
    rules: { "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }], eqeqeq: ["error", "smart"] },
  },
  {
    // The pages' classic scripts (not modules): run as written, in the browser's global scope.
    files: ["sentiment/static/**/*.js", "strategies/static/**/*.js", "tradingsite/static/**/*.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["tests/js/**/*.js", "tests/browser/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
];
