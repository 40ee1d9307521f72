/**
 * A small strict XML 1.0 well-formedness parser for tests (no DTDs, no namespaces processing): elements, attributes,
 * text, CDATA, comments, processing instructions, the five predefined entities and character references. Throws on
 * anything not well-formed; returns the element tree.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const INVALID_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function decode(s: string, where: string): string {
  if (INVALID_CHAR.test(s)) throw new Error(`invalid XML character in ${where}`);
  return s.replace(/&([^;]*);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`bare & in ${where}`);
    if (ref in ENTITIES) return ENTITIES[ref];
    const num = /^#x([0-9A-Fa-f]+)$/.exec(ref) ?? /^#([0-9]+)$/.exec(ref);
    if (num) {
      const cp = Number.parseInt(num[1], ref.startsWith('#x') ? 16 : 10);
      const ok =
        cp === 0x9 ||
        cp === 0xa ||
        cp === 0xd ||
        (cp >= 0x20 && cp <= 0xd7ff) ||
        (cp >= 0xe000 && cp <= 0xfffd) ||
        (cp >= 0x10000 && cp <= 0x10ffff);
      if (!ok) throw new Error(`invalid character reference ${m} in ${where}`);
      return String.fromCodePoint(cp);
    }
    throw new Error(`unknown entity ${m} in ${where}`);
  });
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skipMisc = () => {
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(i))![0].length;
      i += ws;
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) throw new Error('unterminated comment');
        if (xml.slice(i + 4, end).includes('--')) throw new Error('-- inside a comment');
        i = end + 3;
      } else if (xml.startsWith('<?', i)) {
        const end = xml.indexOf('?>', i);
        if (end < 0) throw new Error('unterminated processing instruction');
        i = end + 2;
      } else return;
    }
  };
  skipMisc();
  while (i < xml.length) {
    if (xml[i] !== '<') {
      const end = xml.indexOf('<', i);
      const text = xml.slice(i, end < 0 ? xml.length : end);
      if (stack.length === 0) {
        if (text.trim() !== '') throw new Error(`text outside the root element at ${i}`);
      } else {
        if (text.includes(']]>')) throw new Error(']]> in text');
        stack[stack.length - 1].text += decode(text, `text at ${i}`);
      }
      i = end < 0 ? xml.length : end;
      continue;
    }
    if (xml.startsWith('<!--', i) || xml.startsWith('<?', i)) {
      if (stack.length === 0) {
        skipMisc();
        continue;
      }
      const close = xml.startsWith('<!--', i) ? '-->' : '?>';
      const end = xml.indexOf(close, i + 2);
      if (end < 0) throw new Error('unterminated comment/PI');
      i = end + close.length;
      continue;
    }
    if (xml.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) throw new Error('CDATA outside the root element');
      const end = xml.indexOf(']]>', i);
      if (end < 0) throw new Error('unterminated CDATA');
      stack[stack.length - 1].text += xml.slice(i + 9, end);
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<!', i)) throw new Error('DOCTYPE/declarations are not supported');
    if (xml.startsWith('</', i)) {
      const m = NAME.exec(xml.slice(i + 2));
      if (!m) throw new Error(`bad end tag at ${i}`);
      const top = stack.pop();
      if (!top || top.name !== m[0])
        throw new Error(`mismatched </${m[0]}> at ${i} (open: ${top?.name ?? 'none'})`);
      i += 2 + m[0].length;
      i += /^\s*/.exec(xml.slice(i))![0].length;
      if (xml[i] !== '>') throw new Error(`bad end tag </${m[0]}> at ${i}`);
      i++;
      if (stack.length === 0) {
        skipMisc();
        if (i < xml.length) throw new Error(`content after the root element at ${i}`);
      }
      continue;
    }
    const m = NAME.exec(xml.slice(i + 1));
    if (!m) throw new Error(`bad start tag at ${i}`);
    if (root && stack.length === 0) throw new Error('second root element');
    const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
    i += 1 + m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(i))![0].length;
      i += ws;
      if (xml.startsWith('/>', i) || xml[i] === '>') break;
      if (ws === 0) throw new Error(`missing whitespace before attribute in <${el.name}> at ${i}`);
      const an = NAME.exec(xml.slice(i));
      if (!an) throw new Error(`bad attribute in <${el.name}> at ${i}`);
      i += an[0].length;
      const eq = /^\s*=\s*/.exec(xml.slice(i));
      if (!eq) throw new Error(`attribute ${an[0]} without value`);
      i += eq[0].length;
      const q = xml[i];
      if (q !== '"' && q !== "'") throw new Error(`unquoted attribute ${an[0]}`);
      const end = xml.indexOf(q, i + 1);
      if (end < 0) throw new Error(`unterminated attribute ${an[0]}`);
      const raw = xml.slice(i + 1, end);
      if (raw.includes('<')) throw new Error(`< in attribute ${an[0]}`);
      if (an[0] in el.attrs) throw new Error(`duplicate attribute ${an[0]} in <${el.name}>`);
      el.attrs[an[0]] = decode(raw, `attribute ${an[0]}`);
      i = end + 1;
    }
    if (stack.length > 0) stack[stack.length - 1].children.push(el);
    else root = el;
    if (xml.startsWith('/>', i)) {
      i += 2;
      if (stack.length === 0) {
        skipMisc();
        if (i < xml.length) throw new Error('content after the root element');
      }
    } else {
      i++;
      stack.push(el);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (!root) throw new Error('no root element');
  return root;
}
