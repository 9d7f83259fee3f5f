/** Tailwind v3. The built stylesheet (static/app.css) is committed; rebuild it with
 *  `npm run build:css` after changing templates or static/src/app.css. CI checks it matches. */
const defaultTheme = require("tailwindcss/defaultTheme");

module.exports = {
  content: ["./templates/**/*.html", "./src/**/*.rs", "./static/app.js"],
  theme: {
    extend: {
      fontFamily: {
        sans: ["Inter", ...defaultTheme.fontFamily.sans],
      },
    },
  },
  plugins: [],
};
