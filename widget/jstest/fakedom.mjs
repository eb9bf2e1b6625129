// fakedom is a tiny stand-in for the DOM the widget's parts build with:
// elements with attributes, classes, children, text and listeners, text
// nodes, and querySelector for tag names, .classes and [attr=value], joined
// by commas or spaces (descendants). Enough to build views and read them
// back, nothing more: layout, styles and focus are the browser tests'.

class FakeNode {
  constructor() {
    this.parentNode = null;
  }

  get isConnected() {
    let n = this;
    while (n.parentNode) n = n.parentNode;
    return n.isRoot === true;
  }

  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.childNodes;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }
}

class FakeText extends FakeNode {
  constructor(text) {
    super();
    this.nodeType = 3;
    this.data = String(text);
  }

  get textContent() {
    return this.data;
  }

  set textContent(v) {
    this.data = String(v);
  }
}

class FakeClassList {
  constructor(element) {
    this.element = element;
  }

  get names() {
    return this.element.className.split(/\s+/).filter(Boolean);
  }

  contains(name) {
    return this.names.includes(name);
  }

  add(...names) {
    this.element.className = [...new Set([...this.names, ...names])].join(' ');
  }

  remove(...names) {
    this.element.className = this.names.filter((n) => !names.includes(n)).join(' ');
  }

  toggle(name, on) {
    const want = on === undefined ? !this.contains(name) : !!on;
    if (want) this.add(name);
    else this.remove(name);
    return want;
  }
}

export class FakeElement extends FakeNode {
  constructor(tag) {
    super();
    this.nodeType = 1;
    this.tagName = String(tag).toUpperCase();
    this.childNodes = [];
    this.attributes = new Map();
    this.listeners = {};
    this.className = '';
    this.classList = new FakeClassList(this);
    this.hidden = false;
    this.style = { setProperty() {}, removeProperty() {} };
    this.scrollTop = 0;
    this.scrollHeight = 0;
    this.value = '';
  }

  get children() {
    return this.childNodes.filter((n) => n.nodeType === 1);
  }

  get childElementCount() {
    return this.children.length;
  }

  get firstChild() {
    return this.childNodes[0] || null;
  }

  get lastChild() {
    return this.childNodes[this.childNodes.length - 1] || null;
  }

  get nextElementSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.children;
    return siblings[siblings.indexOf(this) + 1] || null;
  }

  get textContent() {
    return this.childNodes.map((n) => n.textContent).join('');
  }

  set textContent(v) {
    this.childNodes.forEach((n) => { n.parentNode = null; });
    this.childNodes = [];
    if (v !== '' && v != null) this.append(String(v));
  }

  append(...nodes) {
    nodes.forEach((n) => this.insertBefore(typeof n === 'string' ? new FakeText(n) : n, null));
  }

  insertBefore(node, ref) {
    node.remove();
    node.parentNode = this;
    const at = ref ? this.childNodes.indexOf(ref) : -1;
    if (at < 0) this.childNodes.push(node);
    else this.childNodes.splice(at, 0, node);
    return node;
  }

  contains(node) {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }

  setAttribute(name, value) {
    this.attributes.set(name, String(value));
    if (name === 'class') this.className = String(value);
  }

  getAttribute(name) {
    if (name === 'class') return this.className;
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }

  hasAttribute(name) {
    return this.attributes.has(name);
  }

  removeAttribute(name) {
    this.attributes.delete(name);
  }

  toggleAttribute(name, on) {
    const want = on === undefined ? !this.hasAttribute(name) : !!on;
    if (want) this.setAttribute(name, '');
    else this.removeAttribute(name);
    return want;
  }

  addEventListener(type, fn) {
    (this.listeners[type] = this.listeners[type] || []).push(fn);
  }

  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f !== fn);
  }

  // dispatch calls the listeners of type with an event carrying fields.
  dispatch(type, fields = {}) {
    const e = { type, target: this, currentTarget: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; }, stopPropagation() {}, ...fields };
    (this.listeners[type] || []).slice().forEach((fn) => fn(e));
    return e;
  }

  click() {
    this.dispatch('click');
  }

  focus() {
    this.ownerFocus = true;
  }

  matches(selector) {
    return selector.split(',').some((alt) => {
      const parts = alt.trim().split(/\s+/);
      let n = this;
      if (!matchesOne(n, parts.pop())) return false;
      while (parts.length) {
        const want = parts.pop();
        do n = n.parentNode; while (n && !(n.nodeType === 1 && matchesOne(n, want)));
        if (!n) return false;
      }
      return true;
    });
  }

  querySelectorAll(selector) {
    const out = [];
    const walk = (n) => n.children.forEach((k) => {
      if (k.matches(selector)) out.push(k);
      walk(k);
    });
    walk(this);
    return out;
  }

  querySelector(selector) {
    return this.querySelectorAll(selector)[0] || null;
  }
}

// matchesOne matches one compound selector: tag, .class and [attr=value]
// (or [attr]) parts, in any number.
const matchesOne = (n, compound) => {
  const re = /([a-z0-9-]+)|\.([\w-]+)|\[([\w-]+)(?:=([^\]]*))?\]/gi;
  let m;
  while ((m = re.exec(compound))) {
    if (m[1] && n.tagName !== m[1].toUpperCase()) return false;
    if (m[2] && !n.classList.contains(m[2])) return false;
    if (m[3] && (m[4] === undefined ? !n.hasAttribute(m[3]) : n.getAttribute(m[3]) !== m[4].replace(/^["']|["']$/g, ''))) return false;
  }
  return true;
};

// fakeDocument returns a document whose body is connected.
export const fakeDocument = () => {
  const body = new FakeElement('body');
  body.isRoot = true;
  const doc = {
    body,
    baseURI: 'https://shop.example/page',
    visibilityState: 'visible',
    readyState: 'complete',
    createElement: (tag) => new FakeElement(tag),
    createElementNS: (ns, tag) => new FakeElement(tag),
    createTextNode: (text) => new FakeText(text),
    querySelectorAll: (sel) => body.querySelectorAll(sel),
    addEventListener() {}
  };
  doc.head = new FakeElement('head');
  doc.documentElement = body;
  body.append(doc.head);
  return doc;
};
