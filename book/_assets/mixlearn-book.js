/* mixlearn book: glue for the embedded ipywidgets manager (loaded before it).
 *
 * 1. The widget manager bundle (@jupyter-widgets/html-manager, served from
 *    _static/html-manager/) derives the URL of its font files from the AMD module id
 *    "@jupyter-widgets/html-manager/dist/libembed-amd", which require.js would resolve
 *    against the page's folder. A global `require` object defined before require.js
 *    loads is its configuration: map those module ids to our local copy.
 * 2. The manager typesets widget labels with the MathJax 2 call
 *    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]). The pages load MathJax 3,
 *    which has no Hub, so provide that one call on top of MathJax.typesetPromise.
 */
(function () {
  var me = document.currentScript && document.currentScript.src;
  if (me) {
    var managerDir = new URL("html-manager/", me).href;
    window.__jupyter_widgets_assets_path__ = managerDir;
    if (typeof window.require === "undefined") {
      var dir = managerDir.replace(/\/$/, "");
      // the bundle also defines @jupyter-widgets/{base,controls,output}, whose CSS finds the
      // same font files relative to those module ids
      window.require = { paths: { "@jupyter-widgets/html-manager/dist": dir, "@jupyter-widgets": dir } };
    }
  }
  function installHub() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.typesetPromise) { return; }
    mj.Hub = {
      Queue: function () {
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
            mj.typesetPromise([job[2]]).catch(function () { /* label stays plain text */ });
          }
        }
      }
    };
  }
  window.addEventListener("load", installHub);
  document.addEventListener("DOMContentLoaded", installHub);
})();
