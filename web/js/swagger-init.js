// swagger-init.js - Swagger UI on the OpenAPI document, sending the session's CSRF
// token with unsafe requests (try it out).
import { api, routes } from './api.js';
import { run } from './layout.js';

/* Swagger UI's server choice has no label of its own. */
function label() {
    const fix = () => {
        for (const sel of document.querySelectorAll('#swagger-ui select:not([aria-label])')) sel.setAttribute('aria-label', sel.id === 'servers' ? 'Server' : 'Choice');
    };
    fix();
    new MutationObserver(fix).observe(document.getElementById('swagger-ui'), { childList: true, subtree: true });
}

run(async (session) => {
    const csrf = session.csrf_token;
    await api('GET', routes.schema); /* 401/403 handled by run() before Swagger loads */
    window.SwaggerUIBundle({
        url: routes.schema,
        dom_id: '#swagger-ui',
        presets: [window.SwaggerUIBundle.presets.apis],
        layout: 'BaseLayout',
        validatorUrl: null, /* no badge from another site (the CSP would refuse it anyway) */
        deepLinking: false, /* its links inside the operations' buttons nest controls (axe) */
        onComplete: label,
        requestInterceptor: (req) => {
            req.credentials = 'same-origin';
            if (csrf && req.method && !['GET', 'HEAD'].includes(req.method.toUpperCase())) req.headers['X-CSRFToken'] = csrf;
            return req;
        },
    });
});
