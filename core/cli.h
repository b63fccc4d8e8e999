/* The command line: parsing and the modes it selects (run, --once,
 * --check, --list-plugins, --help-plugin, --schema, --plugin). */
#ifndef SIPHON_CORE_CLI_H
#define SIPHON_CORE_CLI_H

typedef struct siphon__cli {
  const char *config; /* -c FILE */
  int once, check, list_plugins, schema;
  const char *help_plugin; /* --help-plugin NAME */
  const char *plugin;      /* --plugin REF: run one plugin without a config */
  const char *options;     /* --options JSON, with --plugin */
  const char *name;        /* --name, with --plugin */
  const char *interval;    /* --interval, with --plugin */
  const char *timeout;     /* --timeout, with --plugin */
  const char *log_level;   /* --log-level: overrides the config */
  const char *log_file;    /* --log-file: overrides the config */
  char *generated;         /* the config --plugin builds */
} siphon__cli;

/* Returns 0 to go on, -1 when it printed help/version (exit 0), or 2 for
 * a usage error (already reported). */
int siphon__cli_parse(siphon__cli *cli, int argc, char **argv);

/* Runs the selected mode; returns the process exit status. */
int siphon__cli_run(siphon__cli *cli);

void siphon__cli_free(siphon__cli *cli);

#endif
