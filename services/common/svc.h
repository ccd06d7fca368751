/*
 * svc.h - the common life of a service program (gateway, settlement): a
 * --help text, settings from the environment (config.h), refusing to start
 * when the node at ETH_RPC_URL answers another chain id than CHAIN_ID (an
 * unreachable node only degrades the service), the stop signals blocked in
 * every thread, open -> start -> wait for SIGINT/SIGTERM -> stop.
 *
 * Exit codes of svc_main(): 0 after a stop signal (or --help), 1 when
 * serving failed, 2 on a usage or configuration error (a chain id mismatch
 * included).
 *
 * Ownership: `struct svc_program` and its server are the caller's (static
 * storage in main.c); svc_main() borrows them.
 */
#ifndef COMMON_SVC_H
#define COMMON_SVC_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "err.h"
#include "log.h"

struct svc_program {
    const char *name;                /* logfmt svc= of the boot logger */
    const char *usage;               /* printed by --help (stdout) or on bad args (stderr) */
    const char *const *config_names; /* NULL-terminated, for config_load_app_names */
    void *server;                    /* the program's server struct */
    bool (*open)(void *server, const struct app_config *cfg, FILE *log_out, struct err *e);
    bool (*start)(void *server, struct err *e);
    void (*stop)(void *server);
};

/* Runs the program as described at the top; returns its exit code. */
int svc_main(const struct svc_program *p, int argc, char **argv);

/* The startup chain check alone: false (logged as an error) when the node
 * answers another chain id; true when it answers CHAIN_ID or cannot be
 * reached (logged as a warning). */
bool svc_check_chain(const struct app_config *cfg, const struct logger *log);

#endif
