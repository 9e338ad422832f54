/**
 * The auth-server's pages: plain server-rendered HTML forms with labelled fields, no scripts and
 * no external assets (the Content-Security-Policy allows none).
 */

/** Content-Security-Policy of every HTML page: no scripts, nothing external, no framing. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(value: string | number | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;
padding:.55rem;border:1px solid #9aa3b2;border-radius:4px;font:inherit}
button{margin-top:1.2rem;padding:.6rem 1.2rem;border:0;border-radius:4px;font:inherit;
background:#2754c5;color:#fff;cursor:pointer}button.secondary{background:#e3e6ec;color:#1d2330}
.error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem;border-radius:4px}
.notice{background:#e8f3fd;border:1px solid #a0c4e0;padding:.6rem;border-radius:4px}
ul.scopes li{margin:.3rem 0}small{color:#5b6475}.actions{display:flex;gap:.6rem}`;

export function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Cloud API Platform</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const errorBox = (error?: string) =>
  error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';

const csrfField = (token: string) =>
  `<input type="hidden" name="csrf_token" value="${escapeHtml(token)}">`;

export function signInPage(input: {
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  signUpUrl: string;
  email?: string;
  error?: string;
}): string {
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${errorBox(input.error)}
<form method="post" action="${escapeHtml(input.action)}">
${csrfField(input.csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required
 value="${escapeHtml(input.email)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
${csrfField(input.csrf)}
<button type="submit" class="secondary">Cancel</button>
</form>
<p><small>No account yet? <a href="${escapeHtml(input.signUpUrl)}">Sign up</a></small></p>`,
  );
}

export function consentPage(input: {
  action: string;
  csrf: string;
  clientName: string;
  email: string;
  scopes: Array<{ name: string; description: string }>;
}): string {
  const items = input.scopes.length
    ? input.scopes
        .map(
          (s) =>
            `<li>${escapeHtml(s.description)} <small>(<code>${escapeHtml(s.name)}</code>)</small></li>`,
        )
        .join('\n')
    : '<li>Know that you use it (no other access).</li>';
  return layout(
    'Allow access',
    `<h1>Allow ${escapeHtml(input.clientName)}?</h1>
<p>Signed in as <strong>${escapeHtml(input.email)}</strong>.
<strong>${escapeHtml(input.clientName)}</strong> asks to:</p>
<ul class="scopes">
${items}
</ul>
<form method="post" action="${escapeHtml(input.action)}">
${csrfField(input.csrf)}
<div class="actions">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</div>
</form>
<p><small>Only allow apps you trust. The app keeps this access until it is revoked.</small></p>`,
  );
}

export function signUpPage(input: {
  action: string;
  csrf: string;
  interaction?: string;
  email?: string;
  name?: string;
  error?: string;
}): string {
  const interaction = input.interaction
    ? `<input type="hidden" name="interaction" value="${escapeHtml(input.interaction)}">`
    : '';
  return layout(
    'Sign up',
    `<h1>Create your account</h1>
${errorBox(input.error)}
<form method="post" action="${escapeHtml(input.action)}">
${csrfField(input.csrf)}
${interaction}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required
 value="${escapeHtml(input.email)}">
<label for="name">Name <small>(optional)</small></label>
<input id="name" name="name" type="text" autocomplete="name" maxlength="100"
 value="${escapeHtml(input.name)}">
<label for="password">Password <small>(at least 10 characters)</small></label>
<input id="password" name="password" type="password" autocomplete="new-password" required
 minlength="10">
<button type="submit">Create account</button>
</form>`,
  );
}

/**
 * What every accepted sign-up answers, whether the address was new or already had an account:
 * the page must not tell which (the mail does, to the holder of the address only).
 */
export function checkInboxPage(input: { email: string; continueUrl?: string }): string {
  const next = input.continueUrl
    ? `<p><a href="${escapeHtml(input.continueUrl)}">Continue and sign in</a></p>`
    : '<p>You can sign in from any app that uses Cloud API Platform.</p>';
  return layout(
    'Check your inbox',
    `<h1>Check your inbox</h1>
<p class="notice">We sent a message to <strong>${escapeHtml(input.email)}</strong>. Follow its
link within 24 hours to verify the address: invitations to projects need it.</p>
${next}`,
  );
}

export function emailVerifiedPage(input: { email: string }): string {
  return layout(
    'Email verified',
    `<h1>Email verified</h1>
<p class="notice"><strong>${escapeHtml(input.email)}</strong> is verified. Invitations sent to
it can now be accepted.</p>`,
  );
}

export function errorPage(input: { title: string; message: string; errorId?: string }): string {
  const id = input.errorId ? `<p><small>Error id: ${escapeHtml(input.errorId)}</small></p>` : '';
  return layout(
    input.title,
    `<h1>${escapeHtml(input.title)}</h1>
<p class="error" role="alert">${escapeHtml(input.message)}</p>
${id}`,
  );
}

/** oidc-provider's sign-out confirmation; `form` is its own (it carries its CSRF token). */
export function signOutPage(form: string): string {
  return layout(
    'Sign out',
    `<h1>Sign out?</h1>
<p>You will be signed out of Cloud API Platform in this browser. Apps you allowed keep their
access until you revoke it.</p>
${form}
<div class="actions">
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>
</div>`,
  );
}

export function signedOutPage(): string {
  return layout('Signed out', '<h1>Signed out</h1><p>You are signed out.</p>');
}
