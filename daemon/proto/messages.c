// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/errmsg.h"
#include "rtprof_abi.h"
#include "proto/errors.h"
#include "base/text.h"
#include "proto/messages.h"
#include "proto/protocol.h"

static const char *const type_names[] = {
	[PROTO_UNKNOWN] = "",	       [PROTO_HELLO] = "hello",       [PROTO_SESSIONS] = "sessions",
	[PROTO_STATUS] = "status",     [PROTO_ATTACH] = "attach",     [PROTO_QUERY] = "query",
	[PROTO_DETACH] = "detach",     [PROTO_RECORD] = "record",     [PROTO_STOP] = "stop",
	[PROTO_ATTACHED] = "attached", [PROTO_REPORT] = "report",     [PROTO_DETACHED] = "detached",
	[PROTO_RECORDING] = "recording", [PROTO_RECORDED] = "recorded", [PROTO_ENDED] = "ended",
	[PROTO_ERROR] = "error",
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *proto__type_name(enum proto_type type)
{
	return (size_t)type < N_TYPES ? type_names[type] : "";
}

static enum proto_type type_of(const char *name, enum proto_type first, enum proto_type last)
{
	for (size_t t = first; t <= last; t++)
		if (strcmp(type_names[t], name) == 0)
			return (enum proto_type)t;
	return PROTO_UNKNOWN;
}

static const char *const view_names[] = { "summary", "syscalls", "threads", "sched", "runtime" };

const char *proto__view_name(enum proto_view view)
{
	return (size_t)view < sizeof(view_names) / sizeof(view_names[0]) ? view_names[view] : "";
}

int proto__view_of(const char *name, enum proto_view *view)
{
	for (size_t i = 0; i < sizeof(view_names) / sizeof(view_names[0]); i++) {
		if (strcmp(view_names[i], name) == 0) {
			*view = (enum proto_view)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const runtime_names[] = { "futex", "off", "uprobes" };

static json_object *member(json_object *msg, const char *key, json_type type)
{
	json_object *v;

	return json_object_object_get_ex(msg, key, &v) && json_object_is_type(v, type) ? v : NULL;
}

static bool get_int(json_object *msg, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_object *v = member(msg, key, json_type_int);

	if (!v)
		return false;
	*out = json_object_get_int64(v);
	return *out >= lo && *out <= hi;
}

/* "pids": 1 to PROTO_MAX_PIDS process ids. 0 or -EINVAL. */
static int get_pids(json_object *msg, pid_t *pids, unsigned int *npids)
{
	json_object *arr = member(msg, "pids", json_type_array);
	size_t n = arr ? json_object_array_length(arr) : 0;

	if (n < 1 || n > PROTO_MAX_PIDS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		int64_t pid;

		if (!json_object_is_type(v, json_type_int) || (pid = json_object_get_int64(v)) <= 0 || pid > INT32_MAX)
			return -ERANGE;
		pids[i] = (pid_t)pid;
	}
	*npids = (unsigned int)n;
	return 0;
}

static json_object *pids_json(const pid_t *pids, unsigned int n)
{
	json_object *arr = json_object_new_array();

	for (unsigned int i = 0; arr && i < n; i++)
		json_object_array_add(arr, json_object_new_int(pids[i]));
	return arr;
}

int proto__parse_request(json_object *msg, struct proto_request *req, char *err, size_t errlen)
{
	const char *type = proto__type(msg);
	json_object *v;
	char shown[65];
	int64_t n;
	int r;

	*req = (struct proto_request){ .type = type_of(type, PROTO_HELLO, PROTO_STOP), .version = -1,
				       .follow = true };
	req->has_id = json_object_object_get_ex(msg, "id", &req->id);
	switch (req->type) {
	case PROTO_UNKNOWN:
		return errmsg(err, errlen, -EINVAL, "unknown request type '%s'",
			      text__printable(type, shown, sizeof(shown), true));
	case PROTO_HELLO:
		if (get_int(msg, "version", 0, INT32_MAX, &n))
			req->version = n;
		return 0;
	case PROTO_ATTACH:
	case PROTO_RECORD:
		r = get_pids(msg, req->pids, &req->npids);
		if (r == -EINVAL)
			return errmsg(err, errlen, r, "%s needs \"pids\": 1 to %d process ids", type, PROTO_MAX_PIDS);
		if (r)
			return errmsg(err, errlen, -EINVAL, "\"pids\" must hold process ids");
		if ((v = member(msg, "follow", json_type_boolean)))
			req->follow = json_object_get_boolean(v);
		if ((v = member(msg, "runtime", json_type_string)))
			req->runtime = !strcmp(json_object_get_string(v), "off")       ? PROTO_RUNTIME_OFF
				       : !strcmp(json_object_get_string(v), "uprobes") ? PROTO_RUNTIME_UPROBES
										: PROTO_RUNTIME_FUTEX;
		if ((v = member(msg, "notify", json_type_boolean)))
			req->notify = json_object_get_boolean(v);
		if ((v = member(msg, "sample_hz", json_type_int))) {
			n = json_object_get_int64(v);
			if (n < 0 || n > PROTO_MAX_SAMPLE_HZ)
				return errmsg(err, errlen, -EINVAL, "sample_hz must be from 0 (no stacks) to %d",
					      PROTO_MAX_SAMPLE_HZ);
			req->sample_hz = (uint32_t)n;
		}
		if ((v = member(msg, "per_thread", json_type_boolean)))
			req->per_thread = json_object_get_boolean(v);
		if ((v = member(msg, "loop_threshold_ms", json_type_int))) {
			n = json_object_get_int64(v);
			if (n < 0 || n > 3600000)
				return errmsg(err, errlen, -EINVAL, "loop_threshold_ms must be from 0 (the default) to "
					      "3600000");
			req->loop_threshold_ms = (uint32_t)n;
		}
		/* a smaller trace buffer than the default only: a client cannot make the daemon pin more memory */
		if (req->type == PROTO_RECORD && (v = member(msg, "trace_buffer", json_type_int))) {
			n = json_object_get_int64(v);
			if (n < 4096 || n > RTP_DEFAULT_TRACE_BUFFER || (n & (n - 1)))
				return errmsg(err, errlen, -EINVAL, "trace_buffer must be a power of two from 4096 to %u",
					      RTP_DEFAULT_TRACE_BUFFER);
			req->trace_buffer = (uint32_t)n;
		}
		return 0;
	case PROTO_QUERY:
	case PROTO_DETACH:
		if (!get_int(msg, "session", 1, INT64_MAX, &n))
			return errmsg(err, errlen, -EINVAL, "a session id is required");
		req->session = (uint64_t)n;
		if (req->type == PROTO_DETACH)
			return 0;
		if ((v = member(msg, "what", json_type_string)) && proto__view_of(json_object_get_string(v), &req->view))
			return errmsg(err, errlen, -EINVAL, "unknown view '%s': summary, syscalls, threads or sched",
				      text__printable(json_object_get_string(v), shown, sizeof(shown), true));
		if (json_object_object_get_ex(msg, "window", &v))
			req->window = json_object_get_boolean(v);
		return 0;
	default:
		return 0;
	}
}

/* A new message of the given type; members are added after "type". */
static json_object *message(enum proto_type type)
{
	json_object *msg = json_object_new_object();

	if (msg)
		json_object_object_add(msg, "type", json_object_new_string(proto__type_name(type)));
	return msg;
}

json_object *proto__build_request(const struct proto_request *req)
{
	json_object *msg = message(req->type);

	if (!msg)
		return NULL;
	switch (req->type) {
	case PROTO_HELLO:
		json_object_object_add(msg, "version", json_object_new_int64(req->version));
		break;
	case PROTO_ATTACH:
	case PROTO_RECORD:
		if (req->type == PROTO_RECORD && req->trace_buffer)
			json_object_object_add(msg, "trace_buffer", json_object_new_int64(req->trace_buffer));
		json_object_object_add(msg, "pids", pids_json(req->pids, req->npids));
		json_object_object_add(msg, "follow", json_object_new_boolean(req->follow));
		json_object_object_add(msg, "runtime", json_object_new_string(runtime_names[req->runtime]));
		if (req->notify)
			json_object_object_add(msg, "notify", json_object_new_boolean(1));
		if (req->sample_hz)
			json_object_object_add(msg, "sample_hz", json_object_new_int64(req->sample_hz));
		if (req->loop_threshold_ms)
			json_object_object_add(msg, "loop_threshold_ms", json_object_new_int64(req->loop_threshold_ms));
		if (req->per_thread)
			json_object_object_add(msg, "per_thread", json_object_new_boolean(1));
		break;
	case PROTO_QUERY:
	case PROTO_DETACH:
		json_object_object_add(msg, "session", json_object_new_int64((int64_t)req->session));
		if (req->type == PROTO_DETACH)
			break;
		json_object_object_add(msg, "what", json_object_new_string(proto__view_name(req->view)));
		if (req->window)
			json_object_object_add(msg, "window", json_object_new_boolean(1));
		break;
	default:
		break;
	}
	return msg;
}

static json_object *session_info_json(const struct proto_session_info *si)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "session", json_object_new_int64((int64_t)si->session));
	json_object_object_add(o, "owner_uid", json_object_new_int64(si->owner_uid));
	json_object_object_add(o, "pids", pids_json(si->pids, si->npids));
	json_object_object_add(o, "live_processes", json_object_new_int64(si->live_processes));
	json_object_object_add(o, "age_s", json_object_new_double(si->age_s));
	json_object_object_add(o, "watched", json_object_new_boolean(si->watched));
	json_object_object_add(o, "comm", json_object_new_string(si->comm));
	json_object_object_add(o, "runtime", json_object_new_string(si->runtime));
	return o;
}

static void add_status(json_object *msg, const struct proto_status *st)
{
	json_object_object_add(msg, "version", json_object_new_string(st->version));
	json_object_object_add(msg, "protocol", json_object_new_int64(st->protocol));
	json_object_object_add(msg, "pid", json_object_new_int64(st->pid));
	json_object_object_add(msg, "uptime_s", json_object_new_double(st->uptime_s));
	json_object_object_add(msg, "cpu_s", json_object_new_double(st->cpu_s));
	json_object_object_add(msg, "rss_kb", json_object_new_int64(st->rss_kb));
	json_object_object_add(msg, "lifecycle_events", json_object_new_uint64(st->lifecycle_events));
	json_object_object_add(msg, "lifecycle_events_per_s", json_object_new_double(st->lifecycle_events_per_s));
	json_object_object_add(msg, "lost_events", json_object_new_uint64(st->lost_events));
	json_object_object_add(msg, "clients", json_object_new_int64(st->clients));
	json_object_object_add(msg, "sessions", json_object_new_int64(st->sessions));
	json_object_object_add(msg, "live_processes", json_object_new_int64(st->live_processes));
	json_object_object_add(msg, "requests", json_object_new_uint64(st->requests));
	json_object_object_add(msg, "refused", json_object_new_uint64(st->refused));
	json_object_object_add(msg, "dropped_clients", json_object_new_uint64(st->dropped_clients));
	json_object_object_add(msg, "watched_processes", json_object_new_int64(st->watched_processes));
	json_object_object_add(msg, "watch_dropped", json_object_new_uint64(st->watch_dropped));
}

json_object *proto__build_reply(struct proto_reply *r)
{
	json_object *msg = message(r->type), *arr;

	if (!msg) {
		json_object_put(r->report);
		r->report = NULL;
		return NULL;
	}
	switch (r->type) {
	case PROTO_HELLO:
		json_object_object_add(msg, "version", json_object_new_int64(r->version));
		json_object_object_add(msg, "server", json_object_new_string(r->server));
		json_object_object_add(msg, "uid", json_object_new_int64(r->uid));
		break;
	case PROTO_ATTACHED:
		json_object_object_add(msg, "session", json_object_new_int64((int64_t)r->session));
		json_object_object_add(msg, "pids", pids_json(r->pids, r->npids));
		if (r->sample_hz)
			json_object_object_add(msg, "sample_hz", json_object_new_int64(r->sample_hz));
		break;
	case PROTO_RECORDING:
		json_object_object_add(msg, "pids", pids_json(r->pids, r->npids));
		if (r->sample_hz)
			json_object_object_add(msg, "sample_hz", json_object_new_int64(r->sample_hz));
		if (r->trace_buffer)
			json_object_object_add(msg, "trace_buffer", json_object_new_int64(r->trace_buffer));
		break;
	case PROTO_SESSIONS:
		arr = json_object_new_array();
		for (size_t i = 0; arr && i < r->nsessions; i++)
			json_object_array_add(arr, session_info_json(&r->sessions[i]));
		json_object_object_add(msg, "sessions", arr);
		break;
	case PROTO_DETACHED:
		json_object_object_add(msg, "session", json_object_new_int64((int64_t)r->session));
		break;
	case PROTO_REPORT:
		json_object_object_add(msg, "session", json_object_new_int64((int64_t)r->session));
		json_object_object_add(msg, "view", json_object_new_string(proto__view_name(r->view)));
		json_object_object_add(msg, "report", r->report);
		r->report = NULL;
		break;
	case PROTO_STATUS:
		add_status(msg, &r->status);
		break;
	case PROTO_RECORDED:
		json_object_object_add(msg, "records", json_object_new_uint64(r->records));
		json_object_object_add(msg, "lost", json_object_new_uint64(r->lost));
		json_object_object_add(msg, "report", r->report);
		r->report = NULL;
		break;
	case PROTO_ENDED:
		json_object_object_add(msg, "session", json_object_new_int64((int64_t)r->session));
		json_object_object_add(msg, "reason", json_object_new_string(r->reason));
		break;
	case PROTO_ERROR:
		json_object_object_add(msg, "code", json_object_new_string(proto__error_code(r->err)));
		json_object_object_add(msg, "message", json_object_new_string(r->message));
		break;
	default:
		break;
	}
	return msg;
}

/* Numbers of a reply: missing members read as 0; a member of another type is an error. */
static int get_i64(json_object *msg, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(msg, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_int64(v);
	return 0;
}

static int get_u64(json_object *msg, const char *key, uint64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(msg, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_double(json_object *msg, const char *key, double *out)
{
	json_object *v;

	if (!json_object_object_get_ex(msg, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_double(v);
	return 0;
}

static int get_str(json_object *msg, const char *key, char *out, size_t size)
{
	json_object *v;

	if (!json_object_object_get_ex(msg, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	snprintf(out, size, "%s", json_object_get_string(v));
	return 0;
}

/* A required session id. */
static int get_session(json_object *msg, uint64_t *out)
{
	int64_t n;

	if (!get_int(msg, "session", 1, INT64_MAX, &n))
		return -EBADMSG;
	*out = (uint64_t)n;
	return 0;
}

static int parse_status(json_object *msg, struct proto_status *st)
{
	return get_str(msg, "version", st->version, sizeof(st->version)) ?: get_i64(msg, "protocol", &st->protocol) ?:
	       get_i64(msg, "pid", &st->pid) ?: get_double(msg, "uptime_s", &st->uptime_s) ?:
	       get_double(msg, "cpu_s", &st->cpu_s) ?: get_i64(msg, "rss_kb", &st->rss_kb) ?:
	       get_u64(msg, "lifecycle_events", &st->lifecycle_events) ?:
	       get_double(msg, "lifecycle_events_per_s", &st->lifecycle_events_per_s) ?:
	       get_u64(msg, "lost_events", &st->lost_events) ?: get_i64(msg, "clients", &st->clients) ?:
	       get_i64(msg, "sessions", &st->sessions) ?: get_i64(msg, "live_processes", &st->live_processes) ?:
	       get_u64(msg, "requests", &st->requests) ?: get_u64(msg, "refused", &st->refused) ?:
	       get_u64(msg, "dropped_clients", &st->dropped_clients) ?:
	       get_i64(msg, "watched_processes", &st->watched_processes) ?:
	       get_u64(msg, "watch_dropped", &st->watch_dropped);
}

static int parse_sessions(json_object *msg, struct proto_reply *r)
{
	json_object *arr = member(msg, "sessions", json_type_array);
	size_t n = arr ? json_object_array_length(arr) : 0;

	if (!arr)
		return -EBADMSG;
	r->sessions = n ? calloc(n, sizeof(*r->sessions)) : NULL;
	if (n && !r->sessions)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
		struct proto_session_info *si = &r->sessions[i];

		if (!json_object_is_type(o, json_type_object) || get_session(o, &si->session) ||
		    get_pids(o, si->pids, &si->npids) || get_i64(o, "owner_uid", &si->owner_uid) ||
		    get_i64(o, "live_processes", &si->live_processes) || get_double(o, "age_s", &si->age_s))
			return -EBADMSG;
		if ((v = member(o, "watched", json_type_boolean)))
			si->watched = json_object_get_boolean(v);
		/* added in protocol 1's life: optional */
		if ((v = member(o, "comm", json_type_string)))
			snprintf(si->comm, sizeof(si->comm), "%s", json_object_get_string(v));
		if ((v = member(o, "runtime", json_type_string)))
			snprintf(si->runtime, sizeof(si->runtime), "%s", json_object_get_string(v));
		r->nsessions = i + 1;
	}
	return 0;
}

static int take_report(json_object *msg, struct proto_reply *r)
{
	json_object *rep = member(msg, "report", json_type_object);

	if (!rep)
		return -EBADMSG;
	r->report = json_object_get(rep);
	return 0;
}

/* "sample_hz" of attached and recording, when there */
static int get_sample_hz(json_object *msg, uint32_t *hz)
{
	json_object *v = member(msg, "sample_hz", json_type_int);
	int64_t n;

	if (!v)
		return 0;
	n = json_object_get_int64(v);
	if (n < 0 || n > PROTO_MAX_SAMPLE_HZ)
		return -EBADMSG;
	*hz = (uint32_t)n;
	return 0;
}

int proto__parse_reply(json_object *msg, struct proto_reply *r)
{
	json_object *v;
	int e = 0;

	*r = (struct proto_reply){ .type = type_of(proto__type(msg), PROTO_HELLO, PROTO_ERROR), .id = -1 };
	if ((v = member(msg, "id", json_type_int)))
		r->id = json_object_get_int64(v);
	switch (r->type) {
	case PROTO_HELLO:
		e = get_i64(msg, "version", &r->version) ?: get_i64(msg, "uid", &r->uid) ?:
		    get_str(msg, "server", r->server, sizeof(r->server));
		break;
	case PROTO_ATTACHED:
		e = get_session(msg, &r->session) ?: (get_pids(msg, r->pids, &r->npids) ? -EBADMSG : 0);
		e = e ?: get_sample_hz(msg, &r->sample_hz);
		break;
	case PROTO_RECORDING:
		e = get_pids(msg, r->pids, &r->npids) ? -EBADMSG : 0; /* the request's */
		e = e ?: get_sample_hz(msg, &r->sample_hz);
		if (!e && (v = member(msg, "trace_buffer", json_type_int))) {
			int64_t n = json_object_get_int64(v);

			if (n <= 0 || n > UINT32_MAX)
				e = -EBADMSG;
			else
				r->trace_buffer = (uint32_t)n;
		}
		break;
	case PROTO_SESSIONS:
		e = parse_sessions(msg, r);
		break;
	case PROTO_DETACHED:
		e = get_session(msg, &r->session);
		break;
	case PROTO_REPORT:
		e = get_session(msg, &r->session) ?: take_report(msg, r);
		if (!e && (v = member(msg, "view", json_type_string)) && proto__view_of(json_object_get_string(v), &r->view))
			e = -EBADMSG;
		break;
	case PROTO_STATUS:
		e = parse_status(msg, &r->status);
		break;
	case PROTO_RECORDED:
		e = get_u64(msg, "records", &r->records) ?: get_u64(msg, "lost", &r->lost) ?: take_report(msg, r);
		break;
	case PROTO_ENDED:
		e = get_session(msg, &r->session) ?: get_str(msg, "reason", r->reason, sizeof(r->reason));
		break;
	case PROTO_ERROR:
		v = member(msg, "code", json_type_string);
		r->err = proto__error_errno(v ? json_object_get_string(v) : NULL);
		if ((v = member(msg, "message", json_type_string)))
			snprintf(r->message, sizeof(r->message), "%s", json_object_get_string(v));
		else
			snprintf(r->message, sizeof(r->message), "%s", proto__error_meaning(r->err));
		break;
	default:
		break; /* a message this client does not know: PROTO_UNKNOWN, to be passed over */
	}
	if (e) {
		proto_reply__clear(r);
		return e == -ENOMEM ? e : -EBADMSG;
	}
	return 0;
}

void proto_reply__clear(struct proto_reply *r)
{
	if (!r)
		return;
	json_object_put(r->report);
	r->report = NULL;
	free(r->sessions);
	r->sessions = NULL;
	r->nsessions = 0;
}
