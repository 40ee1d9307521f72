/** Escaping for every string that reaches a rendered report. Log text is untrusted: always go through these. */

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value for HTML/SVG. Also drops C0 controls other than tab/newline (they are invalid in XML). */
export function escHtml(s: string | number): string {
  return stripInvalidXml(String(s)).replace(/[&<>"']/g, (c) => HTML[c]);
}

/**
 * Characters not allowed in XML 1.0 (C0 controls except tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) are replaced by
 * U+FFFD so that any log byte sequence still gives a well-formed document.
 */
export function stripInvalidXml(s: string): string {
  return s.replace(
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );
}

/** XML text or attribute value (attributes are double-quoted; tab/CR/LF in attributes are kept as references). */
export function escXml(s: string | number): string {
  return stripInvalidXml(String(s)).replace(/[&<>"'\t\n\r]/g, (c) =>
    c === '\t' ? '&#9;' : c === '\n' ? '&#10;' : c === '\r' ? '&#13;' : HTML[c],
  );
}

/** XML element text: like {@link escXml} but newlines and tabs stay literal. */
export function escXmlText(s: string): string {
  return stripInvalidXml(s)
    .replace(/[&<>]/g, (c) => HTML[c])
    .replace(/\r/g, '&#13;');
}

/**
 * A Markdown table cell (GitHub-flavoured): one line, `|` and backslashes escaped, HTML and Markdown emphasis/link
 * characters neutralised so that log text renders literally.
 */
export function mdCell(s: string | number): string {
  return mdText(String(s)).replace(/\|/g, '\\|');
}

/** Inline Markdown text: one line, HTML escaped, Markdown syntax characters backslash-escaped. */
export function mdText(s: string): string {
  return stripInvalidXml(s)
    .replace(/[\r\n]+/g, ' ')
    .replace(/[&<>]/g, (c) => HTML[c])
    .replace(/[\\`*_[\]#~!]/g, (c) => `\\${c}`);
}

/** Log text in inline code: backticks can't be escaped inside code spans, so they are replaced by ˋ. */
export function mdCode(s: string): string {
  const t = stripInvalidXml(s)
    .replace(/[\r\n]+/g, ' ')
    .replace(/`/g, 'ˋ');
  return `\`${t.replace(/\|/g, '\\|')}\``;
}
