/* The SDK as a plugin author meets it: `cmake --install` to a fresh
 * prefix, the template built out of tree with nothing but cc and
 * pkg-config, and run by the installed siphon, which also finds its
 * built-in plugins by itself. */
#define _GNU_SOURCE /* asprintf */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proc.h"
#include "sdk_util.h"
#include "tmpfile.h"

#define T_MS 60000

static char *root;   /* temporary directory of this test */
static char *prefix; /* the install prefix, as the installed files see it */
static char *work;   /* where the author keeps the plugin's source */

__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, f);
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  cr_assert_gt(n, 0);
  return s;
}

static int is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Installs the build once for every test. DESTDIR staging plus a prefix
 * that exists nowhere else: a file installed to an absolute path instead
 * of under the prefix lands outside <stage>/<prefix>, where the tests
 * notice it, instead of in the real /usr/local of whoever runs the tests.
 * The install is then used from where it was staged, which is also what a
 * relocated install (a tarball unpacked elsewhere) looks like.
 */
static void install(void) {
  char real[PATH_MAX];
  char *dir = tmp_dir();
  cr_assert_not_null(dir);
  cr_assert_not_null(realpath(dir, real));
  free(dir);
  root = strdup(real);
  char *destdir = fmt("DESTDIR=%s/stage", root);
  const char *env[] = {destdir, NULL};
  const char *argv[] = {SIPHON_CMAKE,           "--install", SIPHON_BUILD_DIR, "--prefix",
                        "/opt/siphon-sdk-test", NULL};
  tproc p;
  int st = tproc_run(&p, argv, env, T_MS);
  cr_assert_eq(st, 0, "cmake --install failed (%d): %s%s", st, p.out, p.err);
  tproc_free(&p);
  free(destdir);
  prefix = fmt("%s/stage/opt/siphon-sdk-test", root);
  work = fmt("%s/work", root);
  cr_assert_eq(mkdir(work, 0700), 0);
}

static void uninstall(void) {
  if (root != NULL) {
    tmp_rmtree(root);
  }
  free(root);
  free(prefix);
  free(work);
}

TestSuite(install, .init = install, .fini = uninstall);

Test(install, layout_has_binary_header_pc_and_plugins) {
  char *paths[] = {
      fmt("%s/bin/siphon", prefix),
      fmt("%s/include/siphon/plugin.h", prefix),
      fmt("%s/" SIPHON_INSTALL_LIBDIR "/pkgconfig/siphon.pc", prefix),
      fmt("%s/" SIPHON_INSTALL_LIBDIR "/siphon/plugins/template.so", prefix),
      fmt("%s/share/siphon/siphon.schema.json", prefix),
  };
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    cr_expect(is_file(paths[i]), "not installed: %s", paths[i]);
    free(paths[i]);
  }
  /* Test plugins are not part of an install. */
  char *tick = fmt("%s/" SIPHON_INSTALL_LIBDIR "/siphon/plugins/tick.so", prefix);
  cr_expect(!is_file(tick), "a test plugin was installed: %s", tick);
  free(tick);
}

Test(install, pkg_config_points_into_the_prefix) {
  char *pcpath = fmt("PKG_CONFIG_PATH=%s/" SIPHON_INSTALL_LIBDIR "/pkgconfig", prefix);
  const char *env[] = {pcpath, NULL};
  tproc p;
  int st = sdk_sh(&p,
                  SIPHON_PKG_CONFIG " --cflags siphon && " SIPHON_PKG_CONFIG
                                    " --modversion siphon && " SIPHON_PKG_CONFIG
                                    " --variable=plugindir siphon",
                  env, T_MS);
  cr_assert_eq(st, 0, "pkg-config failed (%d): %s", st, p.err);
  /* pcfiledir-relative paths: "<prefix>/lib/pkgconfig/../../include". */
  char *inc = fmt("-I%s/" SIPHON_INSTALL_LIBDIR "/pkgconfig/", prefix);
  cr_assert(strstr(p.out, inc) != NULL, "expected %s in %s", inc, p.out);
  cr_assert(strstr(p.out, "\n" SIPHON_VERSION_STRING "\n") != NULL, "version: %s", p.out);
  cr_assert(strstr(p.out, "/siphon/plugins") != NULL, "plugindir: %s", p.out);
  free(inc);
  tproc_free(&p);
  free(pcpath);
}

Test(install, template_builds_out_of_tree_and_runs) {
  /* The author's copy of the template, away from the source tree. */
  char *src = fmt("%s/plugins/template/template.c", SIPHON_SOURCE_DIR);
  char *dst = fmt("%s/template.c", work);
  size_t len = 0;
  char *text = tmp_read(src, &len);
  cr_assert_not_null(text, "cannot read %s", src);
  cr_assert_eq(tmp_write_at(dst, text), 0);
  free(text);

  /* Exactly the command in the README; PKG_CONFIG_PATH because the prefix
   * is not a system one. No -I, -L or -l of our own. */
  char *pcpath = fmt("PKG_CONFIG_PATH=%s/" SIPHON_INSTALL_LIBDIR "/pkgconfig", prefix);
  const char *env[] = {pcpath, NULL};
  char *cmd = fmt("cd '%s' && " SIPHON_CC " -shared -fPIC -Wall -Werror $(" SIPHON_PKG_CONFIG
                  " --cflags siphon) template.c -o template.so",
                  work);
  tproc p;
  int st = sdk_sh(&p, cmd, env, T_MS);
  cr_assert_eq(st, 0, "out-of-tree build failed (%d): %s%s", st, p.out, p.err);
  tproc_free(&p);

  char *bin = fmt("%s/bin/siphon", prefix);
  char *so = fmt("%s/template.so", work);
  const char *argv[] = {
      bin,      "--plugin", so, "--options", "{\"message\": \"out of tree\", \"count\": 2}",
      "--once", NULL};
  st = tproc_run(&p, argv, NULL, T_MS);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = sdk_records(p.out);
  cr_assert_eq(json_array_size(recs), 2, "stdout: %s", p.out);
  for (size_t i = 0; i < 2; i++) {
    json_t *data = sdk_data(recs, i);
    cr_assert_str_eq(json_string_value(json_object_get(data, "message")), "out of tree");
    cr_assert_eq(json_integer_value(json_object_get(data, "seq")), (json_int_t)i);
  }
  json_decref(recs);
  tproc_free(&p);

  /* The quick try from the README, in the plugin's own directory. */
  free(cmd);
  cmd = fmt("cd '%s' && '%s' --plugin ./template.so --options '{\"message\": \"dot\"}' --once",
            work, bin);
  st = sdk_sh(&p, cmd, NULL, T_MS);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.out, "\"data\":{\"message\":\"dot\",\"seq\":0,\"round\":1}") != NULL, "%s",
            p.out);
  tproc_free(&p);
  free(cmd);
  free(so);
  free(bin);
  free(pcpath);
  free(dst);
  free(src);
}

/* A plugin written in C++, with the same header and command: its
 * descriptor must keep its C name (SIPHON_PLUGIN_DEFINE's extern "C"). */
static const char cpp_plugin[] =
    "#include <siphon/plugin.h>\n"
    "static const siphon_host_api *host;\n"
    "static int cpp_create(const siphon_host_api *api, siphon_source *, const json_t *,\n"
    "                      void **instance, siphon_error *) {\n"
    "  host = api;\n"
    "  *instance = &host;\n"
    "  return 0;\n"
    "}\n"
    "static int cpp_collect(void *, siphon_round *round) {\n"
    "  host->round_emit(round, json_pack(\"{ss}\", \"lang\", \"c++\"), nullptr);\n"
    "  host->round_done(round, 0, nullptr);\n"
    "  return 0;\n"
    "}\n"
    "static void cpp_destroy(void *) {}\n"
    "SIPHON_PLUGIN_DEFINE = {\n"
    "    .abi_version = SIPHON_ABI_VERSION,\n"
    "    .struct_size = sizeof(siphon_plugin_desc),\n"
    "    .name = \"cpp\",\n"
    "    .version = \"1.0.0\",\n"
    "    .description = \"a plugin in C++\",\n"
    "    .capability = SIPHON_CAP_ASYNC,\n"
    "    .kind = SIPHON_KIND_POLLED,\n"
    "    .create = cpp_create,\n"
    "    .collect = cpp_collect,\n"
    "    .destroy = cpp_destroy,\n"
    "};\n";

Test(install, a_plugin_in_cpp_builds_and_runs) {
  char *dst = fmt("%s/cpp.cpp", work);
  cr_assert_eq(tmp_write_at(dst, cpp_plugin), 0);
  char *pcpath = fmt("PKG_CONFIG_PATH=%s/" SIPHON_INSTALL_LIBDIR "/pkgconfig", prefix);
  const char *env[] = {pcpath, NULL};
  char *cmd = fmt("cd '%s' && c++ -std=c++20 -shared -fPIC -Wall -Werror $(" SIPHON_PKG_CONFIG
                  " --cflags siphon) cpp.cpp -o cpp.so && '%s/bin/siphon' --plugin ./cpp.so --once",
                  work, prefix);
  tproc p;
  int st = sdk_sh(&p, cmd, env, T_MS);
  cr_assert_eq(st, 0, "exit %d: %s%s", st, p.out, p.err);
  cr_assert(strstr(p.out, "\"data\":{\"lang\":\"c++\"}") != NULL, "%s", p.out);
  tproc_free(&p);
  free(cmd);
  free(pcpath);
  free(dst);
}

Test(install, template_builds_with_its_own_cmake_file) {
  /* The template's folder copied whole, as an author starting a CMake
   * project does: its CMakeLists.txt builds it alone, through pkg-config,
   * and installs it where the installed siphon finds it by name. */
  char *dir = fmt("%s/cmake-author", work);
  char *cmd =
      fmt("mkdir -p '%s' && cp '%s/plugins/template/template.c' "
          "'%s/plugins/template/CMakeLists.txt' '%s/'",
          dir, SIPHON_SOURCE_DIR, SIPHON_SOURCE_DIR, dir);
  tproc p;
  int st = sdk_sh(&p, cmd, NULL, T_MS);
  cr_assert_eq(st, 0, "%s%s", p.out, p.err);
  tproc_free(&p);
  free(cmd);

  char *pcpath = fmt("PKG_CONFIG_PATH=%s/" SIPHON_INSTALL_LIBDIR "/pkgconfig", prefix);
  const char *env[] = {pcpath, NULL};
  /* A plugin of another name than the installed template, so that the
   * run below can only find the one this build installed. */
  cmd =
      fmt("cd '%s' && sed 's/\"template\"/\"mine\"/' template.c > mine.c && rm template.c && "
          "sed -i 's/template/mine/g' CMakeLists.txt && '" SIPHON_CMAKE
          "' -S . -B build "
          "> /dev/null && '" SIPHON_CMAKE "' --build build && '" SIPHON_CMAKE "' --install build",
          dir);
  st = sdk_sh(&p, cmd, env, T_MS);
  cr_assert_eq(st, 0, "CMake build of the template's copy failed (%d): %s%s", st, p.out, p.err);
  tproc_free(&p);

  char *bin = fmt("%s/bin/siphon", prefix);
  const char *argv[] = {bin,      "--plugin", "mine", "--options", "{\"message\": \"cmake\"}",
                        "--once", NULL};
  st = tproc_run(&p, argv, NULL, T_MS);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(
      strstr(p.out, "\"plugin\":\"mine\",\"tags\":{},\"data\":{\"message\":\"cmake\"") != NULL,
      "%s", p.out);
  tproc_free(&p);
  free(bin);
  free(cmd);
  free(pcpath);
  free(dir);
}

Test(install, installed_binary_finds_installed_plugins) {
  char *bin = fmt("%s/bin/siphon", prefix);
  const char *list[] = {bin, "--list-plugins", NULL};
  tproc p;
  int st = tproc_run(&p, list, NULL, T_MS);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert(strstr(p.out, "template 1.0.0") != NULL, "template not listed: %s%s", p.out, p.err);
  tproc_free(&p);

  /* From the install, not from the build tree or a system-wide copy. */
  const char *help[] = {bin, "--help-plugin", "template", NULL};
  st = tproc_run(&p, help, NULL, T_MS);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  char *want = fmt("file: %s/" SIPHON_INSTALL_LIBDIR "/siphon/plugins/template.so", prefix);
  cr_assert(strstr(p.out, want) != NULL, "expected \"%s\" in %s", want, p.out);
  free(want);
  tproc_free(&p);

  const char *run[] = {bin,      "--plugin", "template", "--options", "{\"message\": \"m\"}",
                       "--once", NULL};
  st = tproc_run(&p, run, NULL, T_MS);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  cr_assert_eq(count_lines(p.out), 1, "%s", p.out);
  tproc_free(&p);
  free(bin);
}
