/* The headers every generated userspace program includes, first thing,
 * with the loader runtime's. Fixed text, so the Makefile precompiles it
 * once into the cache (a PCH beside a copy of it, named by the hash of
 * this file and ksc_runtime.h, the compiler and the flags; rebuilt when a
 * header it includes changes): a program's build then parses only its own
 * code. cc checks that a PCH fits and reads the headers otherwise. */
#ifndef KSC_USER_H
#define KSC_USER_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ksc_runtime.h"

#endif
