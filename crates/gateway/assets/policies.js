// The policy configuration form, generated from each policy's JSON Schema (embedded in the page
// as a JSON data block), validated field by field through POST /api/admin/policy/validate and
// activated through POST /api/admin/policy/set. Every label and message is set as text.
'use strict';

(function () {
  const dataBlock = document.getElementById('policy-data');
  const form = document.getElementById('policy-form');
  if (!dataBlock || !form) { return; }
  const data = JSON.parse(dataBlock.textContent);
  const policies = new Map(data.policies.map(function (p) { return [p.name, p]; }));
  const classSelect = document.getElementById('policy-class');
  const fieldsBox = document.getElementById('policy-fields');
  const description = document.getElementById('policy-description');
  const formError = document.getElementById('form-error');
  const statusLine = document.getElementById('validation-status');
  const result = document.getElementById('activate-result');
  const activateButton = document.getElementById('activate');
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.getAttribute('content') || '' : '';

  let fields = [];
  let validateTimer = null;
  let validation = 0;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === true) { node.setAttribute(k, ''); } else if (v !== false && v !== null && v !== undefined) { node.setAttribute(k, String(v)); }
    }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // Follows $ref (and single-entry allOf) within the policy's own schema.
  function resolve(schema, root) {
    let s = schema || {};
    for (let i = 0; i < 16 && s && s.$ref; i += 1) {
      const path = s.$ref.replace(/^#\//, '').split('/');
      let target = root;
      for (const part of path) { target = target ? target[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined; }
      s = Object.assign({}, target || {}, withoutRef(s));
    }
    if (s && Array.isArray(s.allOf) && s.allOf.length === 1) {
      s = Object.assign({}, resolve(s.allOf[0], root), without(s, 'allOf'));
    }
    return s || {};
  }
  function without(o, key) { const c = Object.assign({}, o); delete c[key]; return c; }
  function withoutRef(o) { return without(o, '$ref'); }

  // What input a property gets: string, number, integer, boolean, enum, lines (array of
  // strings) or json (anything else), and whether null is allowed.
  function classify(raw, root) {
    let s = resolve(raw, root);
    let nullable = false;
    for (const key of ['anyOf', 'oneOf']) {
      if (Array.isArray(s[key])) {
        const branches = s[key].map(function (b) { return resolve(b, root); });
        const nonNull = branches.filter(function (b) { return b.type !== 'null'; });
        if (nonNull.length < branches.length) { nullable = true; }
        if (nonNull.every(function (b) { return 'const' in b || (Array.isArray(b.enum) && b.enum.length === 1); }) && nonNull.length > 0) {
          const options = nonNull.map(function (b) { return { value: 'const' in b ? b.const : b.enum[0], help: b.description || '' }; });
          return { kind: 'enum', options: options, nullable: nullable, schema: s };
        }
        if (nonNull.length === 1) { s = Object.assign({}, nonNull[0], { description: s.description || nonNull[0].description, default: s.default }); }
      }
    }
    let type = s.type;
    if (Array.isArray(type)) {
      if (type.includes('null')) { nullable = true; }
      const rest = type.filter(function (t) { return t !== 'null'; });
      type = rest.length === 1 ? rest[0] : null;
    }
    if (Array.isArray(s.enum)) {
      return { kind: 'enum', options: s.enum.filter(function (v) { return v !== null; }).map(function (v) { return { value: v, help: '' }; }), nullable: nullable, schema: s };
    }
    if (type === 'string' || type === 'boolean' || type === 'integer' || type === 'number') {
      return { kind: type, nullable: nullable, schema: s };
    }
    if (type === 'array' && !s.prefixItems && s.items && !Array.isArray(s.items)) {
      const items = resolve(s.items, root);
      if (items.type === 'string' && !items.enum) { return { kind: 'lines', nullable: nullable, schema: s }; }
    }
    return { kind: 'json', nullable: nullable, schema: s };
  }

  function labelText(name) {
    return name.replace(/_/g, ' ');
  }

  function buildField(name, raw, root, required, value) {
    const info = classify(raw, root);
    const id = 'field-' + name;
    const wrap = el('div', { class: 'field field-' + info.kind, 'data-field': name });
    const label = el('label', { for: id }, labelText(name));
    if (required) { label.appendChild(el('span', { class: 'required', title: 'required' }, ' *')); }
    const help = info.schema.description || raw.description || '';
    let input;
    const present = value !== undefined && value !== null;
    switch (info.kind) {
      case 'boolean':
        input = el('input', { type: 'checkbox', id: id, name: name });
        input.checked = present ? Boolean(value) : Boolean(info.schema.default);
        wrap.classList.add('field-inline');
        wrap.appendChild(input);
        wrap.appendChild(label);
        break;
      case 'integer':
      case 'number':
        input = el('input', {
          type: 'number', id: id, name: name, inputmode: info.kind === 'integer' ? 'numeric' : 'decimal',
          step: info.kind === 'integer' ? '1' : 'any', min: info.schema.minimum, max: info.schema.maximum,
        });
        input.value = present ? String(value) : '';
        if (!present && info.schema.default !== undefined && info.schema.default !== null) { input.placeholder = String(info.schema.default); }
        wrap.appendChild(label);
        wrap.appendChild(input);
        break;
      case 'enum': {
        input = el('select', { id: id, name: name });
        if (info.nullable || !required) { input.appendChild(el('option', { value: '' }, info.schema.default !== undefined ? '(default: ' + JSON.stringify(info.schema.default) + ')' : '(none)')); }
        for (const option of info.options) {
          const o = el('option', { value: JSON.stringify(option.value) }, String(option.value) + (option.help ? ' — ' + option.help : ''));
          if (present && JSON.stringify(value) === JSON.stringify(option.value)) { o.selected = true; }
          input.appendChild(o);
        }
        wrap.appendChild(label);
        wrap.appendChild(input);
        break;
      }
      case 'lines':
        input = el('textarea', { id: id, name: name, rows: 4, spellcheck: 'false' });
        input.value = Array.isArray(value) ? value.join('\n') : '';
        wrap.appendChild(label);
        wrap.appendChild(input);
        wrap.appendChild(el('p', { class: 'hint' }, 'One per line.'));
        break;
      case 'json':
        input = el('textarea', { id: id, name: name, rows: 6, spellcheck: 'false', class: 'code-input' });
        input.value = present ? JSON.stringify(value, null, 2) : '';
        wrap.appendChild(label);
        wrap.appendChild(input);
        wrap.appendChild(el('p', { class: 'hint' }, 'JSON.'));
        break;
      default: {
        const text = present ? String(value) : '';
        const long = text.length > 80 || text.includes('\n') || /instructions|prompt|template|message/.test(name);
        input = long ? el('textarea', { id: id, name: name, rows: 5 }) : el('input', { type: 'text', id: id, name: name, autocomplete: 'off' });
        input.value = text;
        if (!present && typeof info.schema.default === 'string') { input.placeholder = info.schema.default; }
        wrap.appendChild(label);
        wrap.appendChild(input);
      }
    }
    if (required && info.kind !== 'boolean') { input.required = true; }
    if (help) {
      const p = el('p', { class: 'hint', id: id + '-help' }, help);
      wrap.appendChild(p);
      input.setAttribute('aria-describedby', id + '-help ' + id + '-error');
    } else {
      input.setAttribute('aria-describedby', id + '-error');
    }
    const error = el('p', { class: 'field-error', id: id + '-error', 'data-field': name, role: 'alert' });
    error.hidden = true;
    wrap.appendChild(error);
    return { name: name, kind: info.kind, input: input, error: error, required: required, wrap: wrap };
  }

  function render(policyName, config) {
    const policy = policies.get(policyName);
    fieldsBox.replaceChildren();
    fields = [];
    clearErrors();
    result.hidden = true;
    if (!policy) { description.textContent = ''; return; }
    description.textContent = policy.description;
    const schema = policy.schema || {};
    const root = schema;
    const top = resolve(schema, root);
    const props = top.properties || {};
    const names = Object.keys(props);
    const required = new Set(top.required || []);
    if (names.length === 0 && top.additionalProperties && top.additionalProperties !== false) {
      // A free-form map: one JSON box for the whole configuration.
      const f = buildField('config', {}, root, false, config || {});
      f.whole = true;
      fields.push(f);
      fieldsBox.appendChild(f.wrap);
      return;
    }
    if (names.length === 0) {
      fieldsBox.appendChild(el('p', { class: 'muted', id: 'no-settings' }, 'This policy has no settings.'));
      return;
    }
    for (const name of names) {
      const f = buildField(name, props[name], root, required.has(name), config ? config[name] : undefined);
      fields.push(f);
      fieldsBox.appendChild(f.wrap);
    }
  }

  function initialConfig(policyName) {
    if (policyName === data.current.class) { return data.current.config || {}; }
    const policy = policies.get(policyName);
    return policy ? policy.example || {} : {};
  }

  // The configuration the form describes, and the problems found before asking the server.
  function collect() {
    const config = {};
    const problems = [];
    for (const f of fields) {
      const raw = f.input.value;
      let value;
      switch (f.kind) {
        case 'boolean': value = f.input.checked; break;
        case 'integer':
        case 'number':
          if (raw.trim() === '') { continue; }
          value = Number(raw);
          if (!Number.isFinite(value) || (f.kind === 'integer' && !Number.isInteger(value))) {
            problems.push({ field: f.name, message: f.kind === 'integer' ? 'expected a whole number' : 'expected a number' });
            continue;
          }
          break;
        case 'enum':
          if (raw === '') { continue; }
          value = JSON.parse(raw);
          break;
        case 'lines':
          value = raw.split('\n').map(function (s) { return s.trim(); }).filter(function (s) { return s.length > 0; });
          if (value.length === 0 && !f.required) { continue; }
          break;
        case 'json':
          if (raw.trim() === '') { continue; }
          try { value = JSON.parse(raw); } catch (e) { problems.push({ field: f.name, message: 'not valid JSON: ' + e.message }); continue; }
          break;
        default:
          if (raw === '' && !f.required) { continue; }
          value = raw;
      }
      if (f.whole) { return { config: value, problems: problems }; }
      config[f.name] = value;
    }
    return { config: config, problems: problems };
  }

  function clearErrors() {
    for (const f of fields) { f.error.hidden = true; f.error.textContent = ''; f.wrap.classList.remove('invalid'); f.input.removeAttribute('aria-invalid'); }
    formError.hidden = true;
    formError.textContent = '';
  }

  // Shows each error beside its field: the first segment of the error's path names it.
  function showErrors(errors) {
    clearErrors();
    const loose = [];
    for (const e of errors) {
      const path = e.field ? String(e.field) : '';
      const top = path.split(/[.[]/)[0];
      const f = fields.find(function (x) { return x.name === top || (x.whole && (top === 'config' || top === '')); });
      const message = (path && f && path !== top ? path + ': ' : '') + (e.message || 'invalid');
      if (f) {
        f.error.textContent = (f.error.textContent ? f.error.textContent + ' ' : '') + message;
        f.error.hidden = false;
        f.wrap.classList.add('invalid');
        f.input.setAttribute('aria-invalid', 'true');
      } else {
        loose.push((path && path !== 'config' ? path + ': ' : '') + (e.message || 'invalid'));
      }
    }
    if (loose.length) { formError.textContent = loose.join(' · '); formError.hidden = false; }
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    let json = null;
    try { json = await response.json(); } catch (e) { json = null; }
    return { status: response.status, body: json };
  }

  function authProblem(status) {
    if (status !== 401 && status !== 403) { return false; }
    result.replaceChildren();
    result.className = 'banner banner-error';
    result.appendChild(document.createTextNode('Your session expired or the request was refused (HTTP ' + status + '). '));
    const a = el('a', { href: '/login?next=' + encodeURIComponent('/policies') }, 'Sign in again');
    result.appendChild(a);
    result.hidden = false;
    return true;
  }

  async function validate() {
    const mine = ++validation;
    const { config, problems } = collect();
    if (problems.length) { showErrors(problems); statusLine.textContent = problems.length + ' problem(s)'; return false; }
    statusLine.textContent = 'checking…';
    let answer;
    try { answer = await post('/api/admin/policy/validate', { class: classSelect.value, config: config }); } catch (e) {
      statusLine.textContent = 'could not reach the gateway';
      return false;
    }
    if (mine !== validation) { return false; }
    if (authProblem(answer.status)) { statusLine.textContent = ''; return false; }
    const body = answer.body || {};
    if (body.valid) { clearErrors(); statusLine.textContent = 'valid'; return true; }
    const errors = body.errors || [{ field: null, message: (body.error && body.error.message) || 'the gateway refused the configuration' }];
    showErrors(errors);
    statusLine.textContent = errors.length + ' problem(s)';
    return false;
  }

  function scheduleValidation() {
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validate, 500);
  }

  async function activate(e) {
    e.preventDefault();
    result.hidden = true;
    const { config, problems } = collect();
    if (problems.length) { showErrors(problems); return; }
    activateButton.disabled = true;
    try {
      const answer = await post('/api/admin/policy/set', { class: classSelect.value, config: config });
      if (authProblem(answer.status)) { return; }
      const body = answer.body || {};
      if (answer.status === 200) {
        clearErrors();
        result.className = 'banner banner-ok';
        result.textContent = 'Activated ' + (body.name || classSelect.value) + '. Reloading…';
        result.hidden = false;
        setTimeout(function () { window.location.reload(); }, 800);
        return;
      }
      const err = body.error || {};
      if (Array.isArray(err.errors) && err.errors.length) { showErrors(err.errors); }
      result.className = 'banner banner-error';
      result.textContent = 'Not activated: ' + (err.message || ('HTTP ' + answer.status));
      result.hidden = false;
    } catch (error) {
      result.className = 'banner banner-error';
      result.textContent = 'Not activated: the gateway could not be reached.';
      result.hidden = false;
    } finally {
      activateButton.disabled = false;
    }
  }

  classSelect.addEventListener('change', function () {
    render(classSelect.value, initialConfig(classSelect.value));
    statusLine.textContent = '';
  });
  document.getElementById('reset-example').addEventListener('click', function () {
    const policy = policies.get(classSelect.value);
    render(classSelect.value, policy ? policy.example : {});
    scheduleValidation();
  });
  fieldsBox.addEventListener('input', scheduleValidation);
  fieldsBox.addEventListener('change', scheduleValidation);
  form.addEventListener('submit', activate);
  document.getElementById('policy-list').addEventListener('click', function (e) {
    const button = e.target.closest('button.configure');
    if (!button) { return; }
    classSelect.value = button.dataset.policy;
    render(classSelect.value, initialConfig(classSelect.value));
    statusLine.textContent = '';
    document.getElementById('configure').scrollIntoView({ behavior: 'smooth', block: 'start' });
    const first = fieldsBox.querySelector('input, select, textarea');
    if (first) { first.focus({ preventScroll: true }); }
  });

  render(classSelect.value, initialConfig(classSelect.value));
})();
