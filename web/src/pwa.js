// The installable app (issue #20): the service worker (src/sw.js, built with Workbox) keeps the app shell
// and the last-seen pages for offline use. It lives at /sw.js so that it controls every page.
export function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || window.CIVIC_NO_SW) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => { /* the app works without it, online */ });
}

/** Forget what the service worker kept of the signed-in person's answers (on sign-out: a shared phone). */
export function forgetPersonalCache() {
  if (window.caches) caches.delete("civic-api").catch(() => {});
}
