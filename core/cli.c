#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "host.h"
#include "log.h"
#include "options.h"
#include "util.h"

#ifndef SIPHON_VERSION
#define SIPHON_VERSION "0.0.0"
#endif

static void usage(FILE *f) {
  fputs(
      "usage: siphon -c FILE [--once | --check] [--log-level LEVEL] [--log-file FILE]\n"
      "       siphon --plugin NAME|PATH [--options JSON] [--name NAME] [--interval D]\n"
      "              [--timeout D] [--once | --check] [--log-level LEVEL] [--log-file FILE]\n"
      "       siphon --list-plugins [-c FILE]\n"
      "       siphon --help-plugin NAME [-c FILE]\n"
      "       siphon --schema [-c FILE]\n"
      "\n"
      "Polls the sources in FILE at their intervals and writes one JSON record a line.\n"
      "\n"
      "  -c, --config FILE     the config (JSON); see docs/CONFIG.md\n"
      "      --once            run one round over every polled source (listeners are\n"
      "                        not started), print a summary on stderr, exit 0 if\n"
      "                        all succeeded, 1 otherwise\n"
      "      --check           validate the config, load plugins, create every source,\n"
      "                        then exit: 0 if all is well, 2 with every error found\n"
      "      --plugin REF      run one plugin alone, without a config file\n"
      "      --options JSON    its options (with --plugin)\n"
      "      --name NAME       the source's name (with --plugin; default: REF's file\n"
      "                        name without .so, or the name given)\n"
      "      --interval D      how often it runs, with a unit: 10s, 500ms, 1m (with\n"
      "                        --plugin; default 10s)\n"
      "      --timeout D       how long a round may take (with --plugin; default: the\n"
      "                        interval)\n"
      "      --list-plugins    list the plugins found along the plugin path\n"
      "      --schema          print the config's JSON Schema with the options of every\n"
      "                        plugin found, for editors (docs/CONFIG.md)\n"
      "      --help-plugin N   describe plugin N and its options\n"
      "      --log-level L     error, warn, info or debug (overrides the config)\n"
      "      --log-file FILE   write the log to FILE instead of stderr (overrides the\n"
      "                        config; SIGHUP reopens it)\n"
      "  -V, --version         print the version and ABI\n"
      "  -h, --help            this help\n"
      "\n"
      "Exit status: 0 ok, 1 a run-time failure (a source failed in --once, the output\n"
      "failed), 2 a config or usage error.\n",
      f);
}

enum {
  OPT_ONCE = 256,
  OPT_CHECK,
  OPT_LIST,
  OPT_HELP_PLUGIN,
  OPT_PLUGIN,
  OPT_OPTIONS,
  OPT_NAME,
  OPT_INTERVAL,
  OPT_TIMEOUT,
  OPT_LOG_LEVEL,
  OPT_LOG_FILE,
  OPT_SCHEMA
};

/* A flag that takes a value, given once: the second of two -c would
 * otherwise win in silence. 0, or -1 having said so. */
static int set_once(const char **slot, const char *flag, const char *value) {
  if (*slot != NULL) {
    fprintf(stderr, "siphon: %s given twice ('%s', then '%s'): give it once\n", flag, *slot, value);
    return -1;
  }
  *slot = value;
  return 0;
}

int siphon__cli_parse(siphon__cli *cli, int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"once", no_argument, NULL, OPT_ONCE},
      {"check", no_argument, NULL, OPT_CHECK},
      {"list-plugins", no_argument, NULL, OPT_LIST},
      {"schema", no_argument, NULL, OPT_SCHEMA},
      {"help-plugin", required_argument, NULL, OPT_HELP_PLUGIN},
      {"plugin", required_argument, NULL, OPT_PLUGIN},
      {"options", required_argument, NULL, OPT_OPTIONS},
      {"name", required_argument, NULL, OPT_NAME},
      {"interval", required_argument, NULL, OPT_INTERVAL},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
      {"log-file", required_argument, NULL, OPT_LOG_FILE},
      {"version", no_argument, NULL, 'V'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  memset(cli, 0, sizeof(*cli));
  for (;;) {
    int c = getopt_long(argc, argv, "c:Vh", longopts, NULL);
    if (c == -1) {
      break;
    }
    switch (c) {
      case 'c':
        if (set_once(&cli->config, "-c", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_ONCE:
        cli->once = 1;
        break;
      case OPT_CHECK:
        cli->check = 1;
        break;
      case OPT_LIST:
        cli->list_plugins = 1;
        break;
      case OPT_SCHEMA:
        cli->schema = 1;
        break;
      case OPT_HELP_PLUGIN:
        if (set_once(&cli->help_plugin, "--help-plugin", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_PLUGIN:
        if (set_once(&cli->plugin, "--plugin", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_OPTIONS:
        if (set_once(&cli->options, "--options", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_NAME:
        if (set_once(&cli->name, "--name", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_INTERVAL:
        if (set_once(&cli->interval, "--interval", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_TIMEOUT:
        if (set_once(&cli->timeout, "--timeout", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_LOG_LEVEL:
        if (set_once(&cli->log_level, "--log-level", optarg) != 0) {
          return 2;
        }
        break;
      case OPT_LOG_FILE:
        if (set_once(&cli->log_file, "--log-file", optarg) != 0) {
          return 2;
        }
        break;
      case 'V':
        printf("siphon %s (plugin ABI %d.%d)\n", SIPHON_VERSION, SIPHON_ABI_MAJOR,
               SIPHON_ABI_MINOR);
        return -1;
      case 'h':
        usage(stdout);
        return -1;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "siphon: unexpected argument '%s' (see siphon --help)\n", argv[optind]);
    return 2;
  }
  if (cli->log_level != NULL && siphon__log_level_parse(cli->log_level) < 0) {
    fprintf(stderr, "siphon: --log-level: expected error, warn, info or debug, got '%s'\n",
            cli->log_level);
    return 2;
  }
  if (cli->log_file != NULL && cli->log_file[0] == '\0') {
    fputs("siphon: --log-file: expected a file name, got ''\n", stderr);
    return 2;
  }
  /* One thing to do: a second one would be ignored in silence. */
  const char *doing = NULL;
  const struct {
    int on;
    const char *flag;
  } modes[] = {{cli->once, "--once"},
               {cli->check, "--check"},
               {cli->list_plugins, "--list-plugins"},
               {cli->schema, "--schema"},
               {cli->help_plugin != NULL, "--help-plugin"}};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    if (!modes[i].on) {
      continue;
    }
    if (doing != NULL) {
      fprintf(stderr, "siphon: %s and %s exclude each other: give one\n", doing, modes[i].flag);
      return 2;
    }
    doing = modes[i].flag;
  }
  if (cli->plugin != NULL && (cli->list_plugins || cli->schema)) {
    /* They list what the plugin path holds, and would ignore --plugin in
     * silence. */
    fprintf(stderr,
            "siphon: %s lists the plugins on the plugin path, and takes no --plugin: put the "
            "plugin's directory on it (SIPHON_PLUGIN_PATH=DIR siphon %s), or see one plugin "
            "with --help-plugin %s\n",
            cli->schema ? "--schema" : "--list-plugins",
            cli->schema ? "--schema" : "--list-plugins", cli->plugin);
    return 2;
  }
  if (cli->plugin != NULL && cli->config != NULL) {
    fputs("siphon: --plugin runs without a config: drop -c, or add the source to the config\n",
          stderr);
    return 2;
  }
  if (cli->plugin == NULL && (cli->options || cli->name || cli->interval || cli->timeout)) {
    fputs("siphon: --options, --name, --interval and --timeout go with --plugin\n", stderr);
    return 2;
  }
  if (cli->config == NULL && cli->plugin == NULL && !cli->list_plugins && !cli->schema &&
      cli->help_plugin == NULL) {
    fputs("siphon: no config: give -c FILE (see siphon --help)\n", stderr);
    return 2;
  }
  return 0;
}

/* --plugin: a one-source config built from the command line, so the same
 * validation applies as for a file. */
/* A duration on the command line is a string, and takes the config's
 * rule for one: a unit is needed. Digits alone are refused, not taken
 * as milliseconds: collectd's `Interval 10` is seconds, and `--interval
 * 10` silently polling a hundred times a second would be the worse
 * surprise. */
static json_t *duration_arg(const char *text) {
  return json_string(text);
}

static char *generated_config(const siphon__cli *cli, siphon__diag *d) {
  json_error_t jerr;
  json_t *options = json_object();
  if (cli->options != NULL) {
    json_decref(options);
    /* As the config file is read: a key twice is an error, not the last. */
    options = json_loads(cli->options, JSON_REJECT_DUPLICATES, &jerr);
    if (options == NULL) {
      int line, column;
      char *msg =
          siphon__json_syntax_error(cli->options, strlen(cli->options), &jerr, &line, &column);
      siphon__diag_add(d, "--options", "invalid JSON at column %d: %s", column, msg);
      free(msg);
      return NULL;
    }
  }
  const char *ref = cli->plugin;
  const char *base = strrchr(ref, '/');
  char *stem = siphon__xstrdup(base ? base + 1 : ref);
  size_t n = strlen(stem);
  if (n > 3 && strcmp(stem + n - 3, ".so") == 0) {
    stem[n - 3] = '\0';
  }
  json_t *src = json_object();
  json_object_set_new(src, "name", json_string(cli->name ? cli->name : stem));
  json_object_set_new(src, "plugin", json_string(ref));
  if (cli->interval != NULL) {
    json_object_set_new(src, "interval", duration_arg(cli->interval));
  }
  if (cli->timeout != NULL) {
    json_object_set_new(src, "timeout", duration_arg(cli->timeout));
  }
  json_object_set_new(src, "options", options);
  json_t *root = json_object();
  json_object_set_new(root, "sources", json_pack("[o]", src));
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  free(stem);
  return text;
}

static void print_option(const siphon_option *o) {
  /* One column after the type for every row: required, secret, default. */
  char flags[64] = "";
  if (o->flags & SIPHON_OPT_REQUIRED) {
    strcat(flags, " required");
  }
  if (o->flags & SIPHON_OPT_SECRET) {
    strcat(flags, " secret");
  }
  /* A secret's default is a secret too (a plugin that ships a shared
   * key): never printed, as its value never is. */
  /* An empty one ({}, "") holds nothing to hide, and says so. */
  int empty = o->default_json != NULL &&
              (strcmp(o->default_json, "{}") == 0 || strcmp(o->default_json, "\"\"") == 0 ||
               strcmp(o->default_json, "[]") == 0 || strcmp(o->default_json, "null") == 0);
  const char *def = o->default_json;
  if (def != NULL && (o->flags & SIPHON_OPT_SECRET) && !empty) {
    def = "\"********\"";
  }
  char line[512];
  int n = snprintf(line, sizeof(line), "    %-22s %-9s%s%s%s", o->key,
                   siphon__opt_type_name(o->type), flags, def ? " default " : "", def ? def : "");
  for (n = n < (int)sizeof(line) ? n : (int)sizeof(line) - 1; n > 0 && line[n - 1] == ' '; n--) {
    line[n - 1] = '\0';
  }
  puts(line);
  if (o->choices != NULL) {
    printf("    %-22s one of: %s\n", "", o->choices);
  }
  if (o->description != NULL) {
    printf("    %-22s %s\n", "", o->description);
  }
}

static void print_plugin_line(const siphon__plugin *p) {
  /* A polled plugin with start() may make a source streaming in create()
   * (socket's listen mode): --check then calls that source streaming. */
  const char *kind = p->desc.kind == SIPHON_KIND_POLLED && p->desc.start != NULL
                         ? "polled or streaming"
                         : siphon__kind_name(p->desc.kind);
  printf("%s %s  (%s, %s)  %s\n", p->name, p->desc.version ? p->desc.version : "?",
         siphon__capability_name(p->desc.capability), kind,
         p->desc.description ? p->desc.description : "");
}

static void print_plugin(const siphon__plugin *p) {
  print_plugin_line(p);
  printf("  file: %s\n  ABI:  %u.%u\n", p->path, SIPHON_ABI_MAJOR_OF(p->abi_version),
         SIPHON_ABI_MINOR_OF(p->abi_version));
  if (p->desc.options != NULL && p->desc.options[0].key != NULL) {
    printf("  options:\n");
    for (const siphon_option *o = p->desc.options; o->key != NULL; o++) {
      print_option(o);
    }
  } else {
    printf("  options: none\n");
  }
  if (p->desc.example != NULL) {
    /* Its secrets masked, as --check masks a config's. */
    json_t *ex = json_loads(p->desc.example, 0, NULL);
    json_t *shown = ex != NULL ? siphon__options_redact(p->desc.options, ex) : NULL;
    char *text = shown != NULL ? json_dumps(shown, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    /* As written, unless it holds a secret or a URL's password. */
    char *as_is = ex != NULL ? json_dumps(ex, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int secret = text != NULL && as_is != NULL && strcmp(text, as_is) != 0;
    free(as_is);
    json_decref(shown);
    json_decref(ex);
    int any_secret = 0;
    for (const siphon_option *o = p->desc.options; o != NULL && o->key != NULL; o++) {
      any_secret = any_secret || (o->flags & SIPHON_OPT_SECRET);
    }
    /* One that is not JSON cannot be masked: with secret options about,
     * it is not shown. */
    const char *example = p->desc.example;
    if (text == NULL && any_secret) {
      example = "(not shown: it is not valid JSON, so its secrets could not be masked)";
    } else if (secret) {
      example = text;
    }
    printf("  example options:\n    %s\n", example);
    free(text);
  }
}

static int cmp_plugin(const void *a, const void *b) {
  return strcmp((*(siphon__plugin *const *)a)->name, (*(siphon__plugin *const *)b)->name);
}

/* --schema: config/siphon.schema.json (built in) with, for each plugin
 * found, "a source whose plugin is NAME has these options", so an editor
 * checks options as the host will: unknown keys, types, choices. */
static int print_schema(siphon__registry *reg, siphon__diag *d) {
  json_error_t jerr;
  json_t *schema = json_loads(siphon__schema_text, 0, &jerr);
  if (schema == NULL) {
    fprintf(stderr, "siphon: the built-in schema is broken: %s\n", jerr.text);
    return 1;
  }
  siphon__registry_load_all(reg, d);
  json_t *source = json_object_get(json_object_get(schema, "$defs"), "source");
  json_t *all = json_array();
  for (siphon__plugin *p = reg->head; p != NULL; p = p->next) {
    json_t *rule = json_pack("{s:{s:{s:{s:s}},s:[s]},s:{s:{s:o}}}", "if", "properties", "plugin",
                             "const", p->name, "required", "plugin", "then", "properties",
                             "options", siphon__options_schema(p->desc.options));
    json_array_append_new(all, rule);
  }
  if (json_array_size(all) > 0) { /* an empty allOf is no valid schema */
    json_object_set_new(source, "allOf", all);
  } else {
    json_decref(all);
    fputs("siphon: --schema: no plugins found: the schema has no plugin's options\n", stderr);
  }
  char *text = json_dumps(schema, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  int rc = text != NULL && printf("%s\n", text) > 0 ? 0 : 1;
  free(text);
  json_decref(schema);
  return rc;
}

static int run_listing(const siphon__cli *cli, siphon__config *cfg) {
  siphon__registry reg;
  siphon__diag d;
  siphon__diag_init(&d);
  if (cfg != NULL) {
    siphon__registry_init(&reg, cfg->dir, cfg->plugin_path, cfg->plugin_path_count);
  } else {
    siphon__registry_init(&reg, NULL, NULL, 0);
  }
  int rc = 0;
  if (cli->schema) {
    rc = print_schema(&reg, &d);
  } else if (cli->help_plugin != NULL) {
    siphon__plugin *p = siphon__registry_get(&reg, cli->help_plugin, "--help-plugin", &d);
    if (p == NULL) {
      rc = 2;
    } else {
      print_plugin(p);
    }
  } else {
    siphon__registry_load_all(&reg, &d);
    size_t n = 0;
    for (siphon__plugin *p = reg.head; p != NULL; p = p->next) {
      n++;
    }
    siphon__plugin **all = siphon__xcalloc(n, sizeof(*all));
    n = 0;
    for (siphon__plugin *p = reg.head; p != NULL; p = p->next) {
      all[n++] = p;
    }
    qsort(all, n, sizeof(*all), cmp_plugin);
    for (size_t i = 0; i < n; i++) {
      const siphon__plugin *p = all[i];
      print_plugin_line(p);
    }
    if (n > 0) {
      printf("(siphon --help-plugin NAME shows a plugin's options)\n");
    }
    free(all);
    if (n == 0) {
      fputs("siphon: no plugins found; looked in:", stderr);
      for (size_t i = 0; i < reg.dir_count; i++) {
        fprintf(stderr, " %s", reg.dirs[i]);
      }
      fputc('\n', stderr);
    }
  }
  siphon__diag_print(&d);
  siphon__diag_free(&d);
  siphon__registry_free(&reg);
  return rc;
}

/* With --plugin there is no file: name the flag the user typed instead
 * of the one-source config built from it ("--options: url: ..." rather
 * than "<command line>: sources[0].options.url: ..."). */
#define CLI_CONFIG_NAME "<command line>"

static void name_flags(siphon__diag *d) {
  static const struct {
    const char *from, *to;
  } map[] = {{CLI_CONFIG_NAME ": sources[0].options.", "--options: "},
             {CLI_CONFIG_NAME ": sources[0].options", "--options"},
             {CLI_CONFIG_NAME ": sources[0].interval", "--interval"},
             {CLI_CONFIG_NAME ": sources[0].timeout", "--timeout"},
             {CLI_CONFIG_NAME ": sources[0].name", "--name"},
             {CLI_CONFIG_NAME ": sources[0].plugin", "--plugin"},
             {CLI_CONFIG_NAME ": sources[0]", "--plugin"}};
  for (size_t i = 0; i < d->count; i++) {
    char *w = d->entries[i].where;
    for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
      size_t n = strlen(map[k].from);
      if (strncmp(w, map[k].from, n) == 0) {
        d->entries[i].where = siphon__asprintf("%s%s", map[k].to, w + n);
        free(w);
        break;
      }
    }
    /* A flag's value is a string, and digits alone are refused there: the
     * config's third form of a duration does not apply. */
    char *t = d->entries[i].text;
    char *at = strstr(t, SIPHON__DURATION_EXPECTED);
    if (at != NULL && (strncmp(d->entries[i].where, "--interval", 10) == 0 ||
                       strncmp(d->entries[i].where, "--timeout", 9) == 0)) {
      *at = '\0';
      d->entries[i].text = siphon__asprintf("%s%s%s", t, SIPHON__DURATION_EXPECTED_FLAG,
                                            at + strlen(SIPHON__DURATION_EXPECTED));
      free(t);
    }
  }
}

/* ${SIPHON_CONFIG_DIR} in a config is the config file's own directory
 * (absolute), so a config can name files beside it wherever siphon is
 * started from. */
static void export_config_dir(const char *path) {
  char *copy = siphon__xstrdup(path);
  char *slash = strrchr(copy, '/');
  const char *dir = ".";
  if (slash == copy) {
    dir = "/";
  } else if (slash != NULL) {
    *slash = '\0';
    dir = copy;
  }
  char *real = realpath(dir, NULL);
  if (real != NULL) {
    setenv("SIPHON_CONFIG_DIR", real, 1);
    free(real);
  }
  free(copy);
}

/* ${SIPHON_HOSTNAME}: what Telegraf puts in its "host" tag, for a config
 * to put in siphon.tags. Left alone when the environment sets it. */
static void export_hostname(void) {
  char name[256];
  if (getenv("SIPHON_HOSTNAME") == NULL && gethostname(name, sizeof(name)) == 0) {
    name[sizeof(name) - 1] = '\0';
    setenv("SIPHON_HOSTNAME", name, 1);
  }
}

/* The config's warnings: --check's report says them on stderr, a run
 * in its log (the file, once open), where an operator looks. */
static void say_warnings(const siphon__config *cfg, siphon__mode mode) {
  for (size_t i = 0; i < cfg->warnings.count; i++) {
    const siphon__diag_entry *e = &cfg->warnings.entries[i];
    if (mode == SIPHON__MODE_CHECK) {
      fprintf(stderr, "siphon: warning: %s: %s\n", e->where, e->text);
    } else {
      siphon__log(SIPHON_LOG_WARN, NULL, "%s: %s", e->where, e->text);
    }
  }
}

int siphon__cli_run(siphon__cli *cli) {
  siphon__diag d;
  siphon__diag_init(&d);
  siphon__config cfg;
  memset(&cfg, 0, sizeof(cfg));
  int rc;
  /* Until the loop watches SIGHUP (and after it stops), its default
   * action would kill siphon mid-setup or mid-flush. */
  signal(SIGHUP, SIG_IGN);
  export_hostname();
  if (cli->plugin != NULL) {
    cli->generated = generated_config(cli, &d);
    rc =
        cli->generated ? siphon__config_load_string(cli->generated, CLI_CONFIG_NAME, &cfg, &d) : -1;
  } else if (cli->config != NULL) {
    export_config_dir(cli->config);
    siphon__config_opts opts = {.log_file_given = cli->log_file != NULL};
    rc = siphon__config_load_file_opts(cli->config, &opts, &cfg, &d);
  } else {
    rc = 0;
  }
  if (rc != 0 && cli->schema && cli->plugin == NULL) {
    /* The schema is most wanted while a config is being fixed: print it
     * anyway, from the default plugin path. */
    siphon__diag_print(&d);
    fprintf(stderr, "siphon: --schema: %s has errors (above): its plugin_path is not used\n",
            cli->config);
    siphon__config_free(&cfg);
    siphon__diag_free(&d);
    return run_listing(cli, NULL);
  }
  if (rc != 0) {
    if (cli->plugin != NULL) {
      name_flags(&d);
    }
    siphon__diag_print(&d);
    fprintf(stderr, "siphon: %s: %zu error%s\n",
            cli->plugin != NULL || cfg.path == NULL ? "command line" : cfg.path, d.count,
            d.count == 1 ? "" : "s");
    siphon__diag_free(&d);
    siphon__config_free(&cfg);
    return 2;
  }
  if (cli->log_level != NULL) {
    cfg.log_level = siphon__log_level_parse(cli->log_level);
  }
  siphon__log_set_level(cfg.log_level);
  siphon__log_set_json(cfg.log_json);
  if (cli->list_plugins || cli->help_plugin != NULL || cli->schema) {
    rc = run_listing(cli, cli->config || cli->plugin ? &cfg : NULL);
    siphon__config_free(&cfg);
    siphon__diag_free(&d);
    return rc;
  }
  siphon__mode mode = cli->check  ? SIPHON__MODE_CHECK
                      : cli->once ? SIPHON__MODE_ONCE
                                  : SIPHON__MODE_RUN;
  /* Relative to the working directory, as every path on the command
   * line is; checked as the config's key is, --check included. */
  if (cli->log_file != NULL &&
      siphon__config_set_log_file(&cfg, cli->log_file, "--log-file", &d) != 0) {
    siphon__diag_print(&d);
    siphon__diag_free(&d);
    siphon__config_free(&cfg);
    return 2;
  }
  /* Before the host starts, so a plugin's first words go there too;
   * --check writes nothing but its report. */
  if (mode != SIPHON__MODE_CHECK && cfg.log_file != NULL) {
    char *err = NULL;
    if (siphon__log_open_file(cfg.log_file, &err) != 0) {
      if (cli->log_file != NULL) {
        fprintf(stderr, "siphon: --log-file: %s\n", err);
      } else {
        fprintf(stderr, "siphon: %s: siphon.log_file: %s\n", cfg.path, err);
      }
      free(err);
      siphon__diag_free(&d);
      siphon__config_free(&cfg);
      return 1;
    }
  }
  say_warnings(&cfg, mode);
  siphon__host host;
  rc = siphon__host_setup(&host, &cfg, mode, &d);
  if (rc != 0) {
    if (cli->plugin != NULL) {
      name_flags(&d);
    }
    siphon__diag_print(&d);
    fprintf(stderr, "siphon: %s: %zu error%s\n", cli->plugin != NULL ? "command line" : cfg.path,
            d.count, d.count == 1 ? "" : "s");
    siphon__host_teardown(&host);
    siphon__log_close_file();
    siphon__diag_free(&d);
    siphon__config_free(&cfg);
    return 2;
  }
  if (mode == SIPHON__MODE_CHECK) {
    if (cfg.disabled_count > 0) {
      printf("%s: ok: %zu source%s, and %zu disabled\n", cfg.path, cfg.source_count,
             cfg.source_count == 1 ? "" : "s", cfg.disabled_count);
    } else {
      printf("%s: ok: %zu source%s\n", cfg.path, cfg.source_count,
             cfg.source_count == 1 ? "" : "s");
    }
    for (size_t i = 0; i < host.source_count; i++) {
      const siphon_source *s = &host.sources[i];
      json_t *shown = siphon__options_redact(s->plugin->desc.options, s->conf->options);
      char *opts = json_dumps(shown, JSON_COMPACT | JSON_PRESERVE_ORDER);
      if (s->streaming) {
        printf("  %s: %s (%s, streaming), options %s\n", s->name, s->plugin->name,
               siphon__capability_name(s->plugin->desc.capability), opts ? opts : "{}");
      } else {
        printf("  %s: %s (%s), every %.3f s, timeout %.3f s, options %s\n", s->name,
               s->plugin->name, siphon__capability_name(s->plugin->desc.capability),
               (double)s->conf->interval_ms / 1000.0, (double)s->conf->timeout_ms / 1000.0,
               opts ? opts : "{}");
      }
      free(opts);
      json_decref(shown);
    }
    rc = 0;
  } else {
    rc = siphon__host_run(&host);
  }
  siphon__host_teardown(&host);
  if (rc != 0 && siphon__log_file() != NULL) {
    /* Why is in the log file; a supervisor's journal holds stderr only,
     * and would show an exit with no word of it. */
    fprintf(stderr, "siphon: exiting with status %d: the log, %s, says why\n", rc,
            siphon__log_file());
  }
  siphon__log_close_file();
  siphon__diag_free(&d);
  siphon__config_free(&cfg);
  return rc;
}

void siphon__cli_free(siphon__cli *cli) {
  free(cli->generated);
  cli->generated = NULL;
}
