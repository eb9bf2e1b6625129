  // Parts loaded on demand (joined into frontdesk.js by the gateway; see
  // widget/assets.go). The call part (WebRTC and the call view) is most of
  // the code and most visitors never call, so it comes on the first call,
  // or when the visitor points at a call button. It is a script on the
  // gateway's own origin (a page's CSP that allows frontdesk.js allows it),
  // which hands its factory to Frontdesk.definePart; the factory gets the
  // helpers as `shared` and returns the part's class.

  const partLoads = new Map(); // script URL → Promise of the part's class
  const partWaiters = new Map(); // script URL → {resolve, fail}

  const loadPart = (gateway, path) => {
    const src = new URL(gateway + path, doc.baseURI).href;
    let load = partLoads.get(src);
    if (load) return load;
    load = new Promise((resolve, reject) => {
      const script = doc.createElement('script');
      // A failed load is forgotten, so that the next try loads again.
      const fail = () => {
        partLoads.delete(src);
        partWaiters.delete(src);
        script.remove();
        reject(new Error('Frontdesk: cannot load ' + src));
      };
      partWaiters.set(src, { resolve, fail });
      script.async = true;
      script.src = src;
      script.addEventListener('error', fail);
      // A script that ran without defining its part (a wrong version).
      script.addEventListener('load', () => { if (partWaiters.has(src)) fail(); });
      (doc.head || doc.documentElement).append(script);
    });
    partLoads.set(src, load);
    return load;
  };

  const definePart = (factory, src) => {
    const key = (() => {
      try { return new URL(String(src), doc.baseURI).href; } catch (e) { return ''; }
    })();
    const waiter = partWaiters.get(key);
    if (!waiter || typeof factory !== 'function') return;
    partWaiters.delete(key);
    let part;
    try {
      part = factory(shared);
    } catch (e) {
      console.error(e);
      waiter.fail();
      return;
    }
    waiter.resolve(part);
  };
