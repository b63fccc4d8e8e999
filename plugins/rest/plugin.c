/* The rest plugin's descriptor, options table and lifecycle: one engine
 * (curl multi on the host's loop) for the plugin, one rest_source per
 * configured source. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest.h"

static const siphon_option rest_options[] = {
    {"url", SIPHON_OPT_STRING, SIPHON_OPT_REQUIRED, NULL, NULL,
     "http://, https:// or file:// URL to fetch"},
    {"method", SIPHON_OPT_STRING, 0, "\"GET\"", "GET|POST|PUT|PATCH|DELETE|HEAD", "HTTP method"},
    /* Secret: an API key or a token often travels in a header. */
    {"headers", SIPHON_OPT_OBJECT, SIPHON_OPT_SECRET, "{}", NULL,
     "request headers: {\"Name\": \"value\"}; never printed (keys and tokens travel here)"},
    {"query", SIPHON_OPT_OBJECT, 0, "{}", NULL, "query parameters added to the URL, URL-encoded"},
    /* An API key in the URL (?appid=, ?api_key=): sent as query is, but
     * masked wherever the URL is shown, meta.url included. */
    {"secret_query", SIPHON_OPT_OBJECT, SIPHON_OPT_SECRET, "{}", NULL,
     "query parameters that are secrets (API keys): added as query is; their values never "
     "shown, in --check, logs or meta.url"},
    {"body", SIPHON_OPT_ANY, SIPHON_OPT_SECRET, NULL, NULL,
     "request body: a string as is, any other JSON serialized as application/json; never "
     "printed (a login's password travels here)"},
    {"basic", SIPHON_OPT_OBJECT, SIPHON_OPT_SECRET, NULL, NULL,
     "HTTP basic auth: {\"user\": \"...\", \"password\": \"...\"}"},
    {"bearer", SIPHON_OPT_STRING, SIPHON_OPT_SECRET, NULL, NULL,
     "bearer token sent as Authorization: Bearer"},
    {"bearer_file", SIPHON_OPT_STRING, 0, NULL, NULL,
     "file holding a bearer token, read again when it changes (a Kubernetes service "
     "account's token)"},
    {"ca_file", SIPHON_OPT_STRING, 0, NULL, NULL, "PEM file of CAs to verify the server with"},
    {"client_cert", SIPHON_OPT_STRING, 0, NULL, NULL, "PEM client certificate (mutual TLS)"},
    {"client_key", SIPHON_OPT_STRING, 0, NULL, NULL, "PEM private key of client_cert"},
    {"insecure_skip_verify", SIPHON_OPT_BOOL, 0, "false", NULL,
     "do not verify the server's certificate (warned about at start)"},
    {"proxy", SIPHON_OPT_STRING, 0, NULL, NULL, "proxy URL, e.g. http://proxy:3128"},
    {"connect_timeout", SIPHON_OPT_DURATION, 0, REST_CONNECT_TIMEOUT_DEFAULT, NULL,
     "bound on connecting (0: only the source's timeout)"},
    {"follow_redirects", SIPHON_OPT_BOOL, 0, "true", NULL, "follow 3xx Location"},
    {"max_redirects", SIPHON_OPT_INT, 0, "5", NULL, "redirects followed per request"},
    {"max_body_bytes", SIPHON_OPT_SIZE, 0, "\"16MiB\"", NULL,
     "a larger response is aborted and the round fails"},
    {"accept_status", SIPHON_OPT_ARRAY, 0, "[]", NULL,
     "statuses accepted besides 2xx: 404, \"4xx\", \"400-404\""},
    {"format", SIPHON_OPT_STRING, 0, "\"json\"", "json|text",
     "parse the body as JSON or keep text"},
    {"select", SIPHON_OPT_STRING, 0, NULL, NULL, "JSON Pointer (RFC 6901) to the data to emit"},
    {"split", SIPHON_OPT_BOOL, 0, "false", NULL, "one record per element of a selected array"},
    {"paginate", SIPHON_OPT_OBJECT, 0, NULL, NULL,
     "{\"type\": \"link_header\"|\"next_url\"|\"cursor\", \"next_url\": \"/ptr\", "
     "\"cursor\": \"/ptr\", \"cursor_param\": \"cursor\"}"},
    {"max_pages", SIPHON_OPT_INT, 0, "100", NULL, "pages fetched per round at most"},
    {"max_connections", SIPHON_OPT_INT, 0, "0", NULL,
     "plugin-wide cap on open connections (largest of all sources; 0: none)"},
    {"max_host_connections", SIPHON_OPT_INT, 0, "0", NULL,
     "plugin-wide cap on connections per host (largest of all sources; 0: none)"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static int rest_plugin_init(const siphon_host_api *api, uv_loop_t *loop, void **plugin_data,
                            siphon_error *err) {
  CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (c != CURLE_OK) {
    snprintf(err->text, sizeof(err->text), "curl_global_init: %s", curl_easy_strerror(c));
    return -EIO;
  }
  rest_engine *e = NULL;
  int rc = rest_engine_new(api, loop, &e);
  if (rc != 0) {
    snprintf(err->text, sizeof(err->text), "cannot set up curl's multi handle: %s",
             uv_strerror(rc));
    curl_global_cleanup();
    return rc;
  }
  *plugin_data = e;
  return 0;
}

static void rest_plugin_fini(void *plugin_data) {
  rest_engine_close(plugin_data);
  curl_global_cleanup();
}

/* Whether `word` (lower case) is in `name`, ignoring case. */
static int rest_create(const siphon_host_api *api, siphon_source *src, const json_t *options,
                       void **instance, siphon_error *err) {
  rest_source *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return -ENOMEM;
  }
  s->api = api;
  s->src = src;
  s->eng = api->plugin_data(src);
  int rc = rest_source_configure(s, options, err);
  if (rc != 0) {
    if (rc == -ENOMEM && err->text[0] == '\0') {
      snprintf(err->text, sizeof(err->text), "out of memory");
    }
    rest_source_free(s);
    return rc;
  }
  if (s->insecure) {
    api->log(src, SIPHON_LOG_WARN,
             "insecure_skip_verify is on: the server's TLS certificate is not checked");
  }
  uint64_t timeout_ms = api->source_timeout_ms(src);
  if (s->connect_timeout_ms > 0 && s->connect_timeout_ms != REST_CONNECT_TIMEOUT_DEFAULT_MS &&
      (uint64_t)s->connect_timeout_ms > timeout_ms) {
    /* Valid, and does nothing: the round's timeout bounds the connect.
     * Not said of the default, which a source with a short interval
     * never chose. */
    api->log(src, SIPHON_LOG_WARN,
             "connect_timeout (%.3f s) is longer than the source's timeout (%.3f s), which "
             "bounds the whole request, connect included: it never applies",
             (double)s->connect_timeout_ms / 1000.0, (double)timeout_ms / 1000.0);
  }
  /* libcurl drops Authorization and Cookie when a redirect leaves the
   * host, but sends every other header on: an API key in one of them
   * goes to whatever host a redirect names. */
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(options, "headers"), key, v) {
    (void)v;
    if (s->follow_redirects && rest_header_is_credential(key) &&
        strcasecmp(key, "Authorization") != 0 && strcasecmp(key, "Cookie") != 0) {
      api->log(src, SIPHON_LOG_WARN,
               "headers.%s goes along every redirect this source follows, to whatever host "
               "it names (libcurl holds back only Authorization and Cookie): set "
               "follow_redirects to false, or carry the key in bearer, bearer_file, basic or "
               "secret_query",
               key);
    }
  }
  rest_engine_register(s->eng,
                       (long)json_integer_value(json_object_get(options, "max_connections")),
                       (long)json_integer_value(json_object_get(options, "max_host_connections")));
  *instance = s;
  return 0;
}

static int rest_collect(void *instance, siphon_round *round) {
  rest_source *s = instance;
  if (s->run != NULL) {
    return -EBUSY;
  }
  if (s->bearer_file != NULL) {
    /* A stat a round, and a read when it changed: a small local file. */
    char msg[512];
    int rc = rest_bearer_file_refresh(s, msg, sizeof(msg));
    if (rc != 0) {
      char shown[sizeof(msg) + 16];
      snprintf(shown, sizeof(shown), "bearer_file: %s", msg);
      s->api->round_done(round, rc, shown);
      return 0;
    }
  }
  return rest_round_start(s, round);
}

static void rest_cancel(void *instance, siphon_round *round) {
  rest_round_cancel(instance, round);
}

static void rest_destroy(void *instance) {
  rest_source *s = instance;
  if (s->run != NULL) {
    /* The host destroys only idle sources; should one still run, end it
     * so that its transfer leaves the multi handle first. */
    rest_round_cancel(s, NULL);
  }
  if (s->shard != NULL) {
    rest_engine_detach(s->shard);
  }
  rest_source_free(s);
}

SIPHON_PLUGIN_DEFINE = {
    .abi_version = SIPHON_ABI_VERSION,
    .struct_size = sizeof(siphon_plugin_desc),
    .name = "rest",
    .version = "1.0.0",
    .description = "HTTP(S) JSON/text APIs over libcurl's multi interface, with pagination",
    .capability = SIPHON_CAP_ASYNC,
    .kind = SIPHON_KIND_POLLED,
    .options = rest_options,
    .plugin_init = rest_plugin_init,
    .plugin_fini = rest_plugin_fini,
    .create = rest_create,
    .collect = rest_collect,
    .cancel = rest_cancel,
    .destroy = rest_destroy,
    .example =
        "{\"url\": \"https://api.example.com/v1/items\", \"select\": \"/items\", "
        "\"split\": true, \"paginate\": {\"type\": \"link_header\"}}",
};
