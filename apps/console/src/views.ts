import { createHash } from 'node:crypto';
import type { ApiErrorBody } from './api.client';

export function esc(value: string | number | null | undefined): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f6f8fa}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.75rem 1rem;background:#0b3d91;color:#fff}
header a{color:#fff}nav{display:flex;flex-wrap:wrap;gap:.75rem}main{max-width:960px;margin:0 auto;padding:1rem;overflow-wrap:anywhere}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin:.5rem 0 .25rem}input,select,textarea{font:inherit;width:100%;max-width:32rem;padding:.4rem;border:1px solid #57606a;border-radius:4px}
input[type=checkbox],input[type=radio]{width:auto;margin-right:.35rem}fieldset{border:1px solid #d0d7de;border-radius:4px}
button{font:inherit;padding:.4rem .9rem;margin-top:.5rem;border-radius:4px;border:1px solid #0b3d91;background:#0b3d91;color:#fff;cursor:pointer}
button.danger{background:#a40e26;border-color:#a40e26}button.plain{background:#fff;color:#0b3d91}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem;border-bottom:1px solid #d0d7de;vertical-align:top}
.table-wrap{overflow-x:auto}.error{border-color:#a40e26;background:#fff5f5}.secret{border-color:#9a6700;background:#fff8c5}
code{word-break:break-all}.muted{color:#57606a}.chart{width:100%;height:auto;aspect-ratio:3/1}
form[aria-busy=true] button[type=submit]{opacity:.7;cursor:progress}.row-actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.inline{display:inline}fieldset label{font-weight:400}.hint{font-size:.9rem;color:#57606a;margin:.15rem 0}
td label{font-weight:400}
@media (max-width:600px){.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.stack tr{display:block;border-bottom:1px solid #d0d7de;padding:.5rem 0}.stack td{display:block;border:0;padding:.15rem 0}
.stack td[data-label]::before{content:attr(data-label);display:block;font-size:.85rem;font-weight:600;color:#57606a}}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}:focus-visible{outline:3px solid #d4a72c;outline-offset:2px}`;

/** The pages' one script: copy buttons, and no double submission of a form. */
const SCRIPT = `document.addEventListener('click',e=>{const b=e.target.closest('[data-copy]');if(!b)return;
navigator.clipboard.writeText(b.getAttribute('data-copy')).then(()=>{b.firstChild.textContent='Copied'},()=>{b.firstChild.textContent='Select and copy'})});
document.addEventListener('submit',e=>{const f=e.target;if(f.getAttribute('aria-busy')==='true'){e.preventDefault();return}
f.setAttribute('aria-busy','true');const b=f.querySelector('button[type=submit]');if(b){b.dataset.label=b.textContent;b.textContent='Working…'}});
window.addEventListener('pageshow',()=>{for(const f of document.querySelectorAll('form[aria-busy=true]')){f.removeAttribute('aria-busy');const b=f.querySelector('button[type=submit]');if(b&&b.dataset.label)b.textContent=b.dataset.label}});`;

/** The CSP source that allows that script and no other inline one. */
export const SCRIPT_HASH = `'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`;

export interface Layout {
  title: string;
  csrf?: string;
  email?: string;
  body: string;
}

export function page({ title, csrf, email, body }: Layout): string {
  const nav = csrf
    ? `<nav aria-label="Main"><a href="/projects">Projects</a><a href="/invitations">Invitations</a><a href="/oauth-apps">OAuth apps</a><a href="/support">Support</a></nav>
<form method="post" action="/signout" style="margin-left:auto"><input type="hidden" name="_csrf" value="${esc(csrf)}">
<span>${esc(email)}</span> <button class="plain" type="submit">Sign out</button></form>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)} · Developer console</title>
<style>${STYLE}</style></head><body><header><strong><a href="/">Developer console</a></strong>${nav}</header>
<main><h1>${esc(title)}</h1>${body}</main>
<script>${SCRIPT}</script>
</body></html>`;
}

export const copyButton = (value: string, label: string) =>
  `<button type="button" class="plain" data-copy="${esc(value)}"><span>Copy</span><span class="sr"> ${esc(label.replace(/^Copy /, ''))}</span></button>`;

/** An API error, readable, with its request id (copyable) and a ticket one click away. */
export function errorBox(error: ApiErrorBody): string {
  const rid = error.request_id;
  return `<section class="error" role="alert"><h2>Something went wrong</h2><p>${esc(error.message)}</p>
<p class="muted">Code <code>${esc(error.code)}</code>${error.param ? ` · field <code>${esc(error.param)}</code>` : ''}</p>
${
  rid
    ? `<p>Request id <code id="rid">${esc(rid)}</code> ${copyButton(rid, 'Copy request id')}
<a href="/support?request_id=${encodeURIComponent(rid)}">Open a support ticket with it</a></p>`
    : ''
}</section>`;
}

/**
 * Something the console itself refused or failed at (not an API error): the console's own
 * request id as a reference for its logs. It is no `/v1` request id, so it is not offered for a
 * ticket (the API would refuse it); the support page is linked instead.
 */
export function consoleErrorBox(
  message: string,
  reference: string,
  links: { signIn?: boolean; ticket?: boolean } = {},
): string {
  return `<section class="error" role="alert"><h2>Something went wrong</h2><p>${esc(message)}</p>
<p class="muted">Console reference <code id="ref">${esc(reference)}</code> ${copyButton(reference, 'Copy console reference')}</p>
${links.signIn ? '<p><a href="/signin">Sign in again</a></p>' : ''}${links.ticket ? '<p><a href="/support">Open a support ticket</a> (quote the reference)</p>' : ''}</section>`;
}

export const csrfField = (csrf: string) =>
  `<input type="hidden" name="_csrf" value="${esc(csrf)}">`;

export const fmtTime = (iso: string | null | undefined) =>
  iso
    ? `<time datetime="${esc(iso)}">${esc(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'))}</time>`
    : '—';

/**
 * A table; `head` is trusted markup. Each cell is labelled with its column (`data-label`), so
 * that below 600 px the rows stack as cards instead of squeezing every column into 375 px.
 */
export function table(head: string[], rows: string): string {
  const labelled = rows
    .split('<tr>')
    .map((row) => {
      let i = 0;
      return row.replace(/<td>/g, () => `<td data-label="${esc(head[i++] ?? '')}">`);
    })
    .join('<tr>');
  return `<div class="table-wrap"><table class="stack"><thead><tr>${head.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody>${labelled}</tbody></table></div>`;
}
