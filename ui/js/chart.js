// ui/js/chart.js: Chart.js, as the system ships it (Debian's
// libjs-chart.js), served by chimed at /ui/vendor/chart.js and loaded
// once, on the first page that draws a chart; and the theme's colours
// for it, read from the CSS variables.

let loading = null;

export function loadChart() {
  if (window.Chart)
    return Promise.resolve(window.Chart);
  if (loading === null) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/ui/vendor/chart.js";
      s.onload = () => resolve(window.Chart);
      s.onerror = () => {
        loading = null;
        reject(new Error("Chart.js did not load (is libjs-chart.js " +
          "installed where chimed looks for it?)"));
      };
      document.head.append(s);
    });
  }
  return loading;
}

export function chartColors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return { accent: v("--accent"), accentSoft: v("--accent-soft"),
    muted: v("--muted"), grid: v("--border") };
}
