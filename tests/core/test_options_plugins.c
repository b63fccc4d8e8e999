/* Every built plugin's options table, checked the way the host checks a
 * user's options: a plugin author learns of a default that is not valid
 * JSON, or an example that its own table refuses, before a user does. */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "options.h"
#include "util.h"

static void check_table(const siphon__plugin *p) {
  const siphon_option *t = p->desc.options;
  for (const siphon_option *o = t; o != NULL && o->key != NULL; o++) {
    cr_expect(o->type >= SIPHON_OPT_STRING && o->type <= SIPHON_OPT_SIZE, "%s: %s: type %d",
              p->path, o->key, (int)o->type);
    cr_expect(o->choices == NULL || o->type == SIPHON_OPT_STRING, "%s: %s: choices on a %s option",
              p->path, o->key, siphon__opt_type_name(o->type));
    cr_expect(!(o->flags & SIPHON_OPT_REQUIRED) || o->default_json == NULL,
              "%s: %s: required, yet has a default", p->path, o->key);
    cr_expect(o->description != NULL && o->description[0] != '\0', "%s: %s: no description",
              p->path, o->key);
    for (const siphon_option *q = t; q != o; q++) {
      cr_expect_str_neq(q->key, o->key, "%s: %s is listed twice", p->path, o->key);
    }
  }

  /* The options the plugin shows as its example, or none: every default
   * is then checked, and only required options may be missing. */
  json_t *opts = json_object();
  if (p->desc.example != NULL) {
    json_error_t err;
    json_decref(opts);
    opts = json_loads(p->desc.example, 0, &err);
    cr_assert_not_null(opts, "%s: example is not JSON: %s", p->path, err.text);
  }
  siphon__diag d;
  siphon__diag_init(&d);
  json_t *out = NULL;
  char *where = siphon__asprintf("%s options", p->name);
  siphon__options_validate(t, opts, where, &out, &d);
  for (size_t i = 0; i < d.count; i++) {
    int missing = strstr(d.entries[i].text, "missing required option") != NULL;
    cr_expect(missing && p->desc.example == NULL, "%s: %s: %s", p->path, d.entries[i].where,
              d.entries[i].text);
  }
  free(where);
  json_decref(out);
  json_decref(opts);
  siphon__diag_free(&d);
}

Test(options_plugins, every_built_plugin) {
  glob_t g;
  memset(&g, 0, sizeof(g));
  int flags = 0;
  if (glob(SIPHON_PLUGIN_DIR "/*.so", 0, NULL, &g) == 0) {
    flags = GLOB_APPEND;
  }
  glob(SIPHON_TEST_PLUGIN_DIR "/*.so", flags, NULL, &g);
  siphon__registry reg;
  siphon__registry_init(&reg, NULL, NULL, 0);
  size_t checked = 0;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    siphon__diag d;
    siphon__diag_init(&d);
    siphon__plugin *p = siphon__registry_get(&reg, g.gl_pathv[i], g.gl_pathv[i], &d);
    cr_expect_not_null(p, "%s: %s", g.gl_pathv[i], d.count ? d.entries[0].text : "?");
    if (p != NULL) {
      check_table(p);
      checked++;
    }
    siphon__diag_free(&d);
  }
  siphon__registry_free(&reg);
  globfree(&g);
  cr_expect_gt(checked, 0, "no plugin built in %s or %s", SIPHON_PLUGIN_DIR,
               SIPHON_TEST_PLUGIN_DIR);
}
