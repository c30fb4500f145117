/* theme.js - light or dark before the first paint: the user's choice (remembered),
 * else the system's setting, which is followed while there is no choice. A classic
 * script in <head> so that no page flashes in the wrong theme. */
(function () {
  'use strict';
  var KEY = 'lc-theme';
  var dark = window.matchMedia('(prefers-color-scheme: dark)');
  function chosen() {
    try {
      var t = window.localStorage.getItem(KEY);
      return t === 'light' || t === 'dark' ? t : null;
    } catch (e) {
      return null;
    }
  }
  function apply() {
    var t = chosen() || (dark.matches ? 'dark' : 'light');
    document.documentElement.setAttribute('data-bs-theme', t);
  }
  apply();
  dark.addEventListener('change', apply);
})();
