/* profile.c - /api/v1/profile/: the calling user's own e-mail address and notification choice. */
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "core/util.h"
#include "jobs/mail.h"

static enum err reply_profile(struct req *r, const char *email, const struct user_prefs *p)
{
    return req_reply_json(r, 200,
                          json_pack("{s:s,s:s,s:b}", "username", r->principal.user.username,
                                    "email", email, "upload_mail", p->upload_mail));
}

enum err api_profile_get(struct req *r)
{
    struct user_prefs p;
    enum err e = store_user_prefs_get(r->app->store, r->principal.user.id, &p);
    return e ? e : reply_profile(r, r->principal.user.email, &p);
}

/* PATCH {"email"?, "upload_mail"?}: "" clears the address. */
enum err api_profile_patch(struct req *r)
{
    struct user_prefs p;
    enum err e = store_user_prefs_get(r->app->store, r->principal.user.id, &p);
    if (e)
        return e;
    char email[LIMIT_EMAIL + 1];
    str_copy(email, sizeof(email), r->principal.user.email);
    int rc = api_field_string(r, "email", email, sizeof(email), LIMIT_EMAIL, true);
    if (rc > 0 && email[0] && !mail_address_ok(email))
        req_invalid(r, "email", "Enter a valid email address.");
    json_t *m = json_object_get(r->json, "upload_mail");
    if (m && !json_is_boolean(m))
        req_invalid(r, "upload_mail", "Must be a valid boolean.");
    else if (m)
        p.upload_mail = json_is_true(m);
    if (r->field_errors)
        return ERR_VALIDATION;
    struct event ev;
    api_event_make(r, &ev, "user.updated", 0, 0,
                   json_pack("{s:s,s:b,s:b}", "username", r->principal.user.username,
                             "email_changed", strcmp(email, r->principal.user.email) != 0,
                             "upload_mail", p.upload_mail));
    e = store_user_profile_set(r->app->store, r->principal.user.id, rc > 0 ? email : NULL, &p, &ev);
    return e ? e : reply_profile(r, email, &p);
}
