/** Tailwind v3. The built stylesheet (static/app.css) is committed; rebuild it with
 *  `npm run build:css` after changing templates or static/src/app.css. CI checks it matches. */
const defaultTheme = require("tailwindcss/defaultTheme");

module.exports = {
  content: ["./templates/**/*.html", "./src/**/*.rs", "./static/app.js"],
  // Classes templates build from values (`platform-{{ name }}`, `status-{{ tone }}`…) are
  // invisible to the content scan; list them here.
  safelist: [
    { pattern: /^platform-(x|instagram|facebook|linkedin|pinterest|tiktok|youtube|shopify|etsy|squarespace)$/ },
    { pattern: /^status-(ok|warn|error)$/ },
    { pattern: /^flash-(success|info|error)$/ },
    { pattern: /^preview-(x|instagram|facebook|linkedin|pinterest|tiktok|youtube)$/ },
    { pattern: /^preview-media-[1-4]$/ },
    { pattern: /^post-(draft|scheduled|publishing|published|partial|failed|unknown|cancelled)$/ },
    { pattern: /^target-(draft|scheduled|queued|publishing|published|retry_wait|failed|unknown|cancelled)$/ },
    { pattern: /^upload-(ok|duplicate|error)$/ },
  ],
  theme: {
    extend: {
      fontFamily: {
        sans: ["Inter", ...defaultTheme.fontFamily.sans],
      },
    },
  },
  plugins: [],
};
