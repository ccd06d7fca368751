/*
 * rightsctl.h - the operator and auditor CLI. Each subcommand lives in its
 * own cmd_*.c file and receives argv after the subcommand name. Settings
 * come from the environment through the config table (config.h); flags
 * override paths only.
 *
 * Exit codes: 0 success, 1 operation failed, 2 usage or configuration error.
 */
#ifndef RIGHTSCTL_H
#define RIGHTSCTL_H

#include "config.h"
#include "log.h"

enum rightsctl_exit { RIGHTSCTL_EXIT_OK = 0, RIGHTSCTL_EXIT_FAIL = 1, RIGHTSCTL_EXIT_USAGE = 2 };

struct rightsctl {
    struct logger log;
    struct app_config cfg;
};

/* Loads only the named app-config variables (NULL-terminated list), logging
 * every bad one. Returns false on any error. */
bool rightsctl_load_config(struct rightsctl *ctl, const char *const *names);

int cmd_migrate(struct rightsctl *ctl, int argc, char **argv);
int cmd_deploy(struct rightsctl *ctl, int argc, char **argv);
int cmd_keygen(struct rightsctl *ctl, int argc, char **argv);
int cmd_publish(struct rightsctl *ctl, int argc, char **argv);
int cmd_verify_recording(struct rightsctl *ctl, int argc, char **argv);
int cmd_audit(struct rightsctl *ctl, int argc, char **argv);

#endif
