// Thin fetch wrappers. Errors carry the server's words; a 422 keeps its per-field details.
export class ApiError extends Error {
  constructor(status, message, fields = {}, detail = null) {
    super(message);
    this.status = status;
    this.fields = fields; // { fieldName: "what is wrong (the limit)" }
    this.detail = detail; // the body's "detail", as the server sent it
  }
}

// FastAPI/pydantic 422 bodies: {"detail": [{"loc": ["body", "rank"], "msg": "...", "ctx": {...}}]}.
// Some routes answer {"detail": "text"} or {"detail": {"field": "...", "message": "..."}}.
export function fieldErrors(detail) {
  const fields = {};
  if (Array.isArray(detail)) {
    for (const item of detail) {
      const loc = (item.loc || []).filter((part) => part !== 'body');
      const name = loc.length ? String(loc[loc.length - 1]) : '_';
      fields[name] = item.msg || 'invalid value';
    }
  } else if (detail && typeof detail === 'object') {
    if (detail.field) fields[detail.field] = detail.message || detail.msg || 'invalid value';
    else Object.assign(fields, detail);
  }
  return fields;
}

function messageOf(body, status) {
  if (body && typeof body.detail === 'string') return body.detail;
  if (body && body.detail && typeof body.detail.message === 'string') return body.detail.message;
  return `request failed (${status})`;
}

export async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    const fields = response.status === 422 && data ? fieldErrors(data.detail) : {};
    const names = Object.keys(fields);
    const message = names.length
      ? names.map((n) => `${n}: ${fields[n]}`).join('; ')
      : messageOf(data, response.status);
    throw new ApiError(response.status, message, fields, data?.detail ?? null);
  }
  return data;
}

export const api = {
  models: () => request('GET', '/api/models'),
  methods: () => request('GET', '/api/methods'),
  tasks: () => request('GET', '/api/tasks'),
  health: () => request('GET', '/api/health'),
  job: (id) => request('GET', `/api/jobs/${encodeURIComponent(id)}`),
  startJob: (config) => request('POST', '/api/jobs', config),
  cancelJob: (id) => request('POST', `/api/jobs/${encodeURIComponent(id)}/cancel`),
  jobs: (limit = 200) => request('GET', `/api/jobs?limit=${limit}`),
  // adapter: another finished run on the same base answers instead (the server swaps it in)
  generate: (id, prompt, adapter = null) => request('POST', `/api/jobs/${encodeURIComponent(id)}/generate`,
    adapter ? { prompt, adapter } : { prompt }),
  quiz: (slug) => request('GET', `/api/lessons/${encodeURIComponent(slug)}/quiz`),
  answer: (slug, answers) => request('POST', `/api/lessons/${encodeURIComponent(slug)}/quiz/answers`, { answers }),
  ownRunQuiz: (slug, job) => request('GET', `/api/lessons/${encodeURIComponent(slug)}/quiz/own-run/${encodeURIComponent(job)}`),
  answerOwnRun: (slug, job, answers) => request('POST',
    `/api/lessons/${encodeURIComponent(slug)}/quiz/own-run/${encodeURIComponent(job)}/answers`, { answers }),
};
