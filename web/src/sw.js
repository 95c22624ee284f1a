// The service worker (Workbox): the app shell precached (the build lists every file of dist/ with its
// hash), the pages' navigations answered with index.html (also /track/<code>), and the answers the
// citizen last saw (config, categories, my reports, their tracking pages, units, photos) kept for offline
// use, fresh from the network whenever it answers within a few seconds.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";
import { CacheFirst, NetworkFirst } from "workbox-strategies";
import { ExpirationPlugin } from "workbox-expiration";
import { clientsClaim } from "workbox-core";

// The first visit's page is controlled at once, so what it reads next is kept for offline too.
clientsClaim();
precacheAndRoute(self.__WB_MANIFEST);
// Where the API is (config.js, written by the deploy) is kept from the start: a page opened offline needs it.
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open("civic-shell").then((cache) => cache.add("/config.js")).catch(() => {}));
});
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL("/index.html"), { denylist: [/^\/_local\//, /^\/media\//, /^\/open-data\//] }));

const sameOrigin = (url) => url.origin === self.location.origin;
registerRoute(({ url }) => sameOrigin(url) && url.pathname === "/config.js", new NetworkFirst({ cacheName: "civic-shell", networkTimeoutSeconds: 4 }));

// The API's answers the citizen pages read (GET only; staff and statistics are not kept).
const KEPT = /^\/v1\/(config|categories|areas|track\/[^/]+|reports\/[0-9a-f]{32}|me\/reports|me\/notifications|units\/[^/]+|alerts)$/;
registerRoute(
  ({ url, request }) => request.method === "GET" && !sameOrigin(url) && KEPT.test(url.pathname),
  new NetworkFirst({
    cacheName: "civic-api",
    networkTimeoutSeconds: 5,
    plugins: [new ExpirationPlugin({ maxEntries: 80, maxAgeSeconds: 14 * 24 * 3600 })],
  }),
);
// Renditions never change under a key.
registerRoute(({ url }) => url.pathname.startsWith("/media/"),
  new CacheFirst({ cacheName: "civic-media", plugins: [new ExpirationPlugin({ maxEntries: 60, maxAgeSeconds: 30 * 24 * 3600 })] }));

// Background Sync: the page that queued a report sends it (it holds the sign-in); the worker wakes it.
self.addEventListener("sync", (event) => {
  if (event.tag !== "civic-outbox") return;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then((clients) => clients.forEach((c) => c.postMessage({ type: "civic-outbox" }))));
});
