/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A streaming JSON writer with bpftool's interface: values are written as
 * they come, objects and arrays nest, separators and indentation are the
 * writer's business. Strings are escaped and made valid UTF-8 (a byte that
 * is not part of a valid sequence, e.g. a name cut at MS_STR_LEN, becomes
 * U+FFFD). Non-finite floats are written as null. Numbers never depend on
 * the locale.
 */
#ifndef MIGSCOPE_JSON_WRITER_H
#define MIGSCOPE_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct json_writer json_writer_t;

json_writer_t *jsonw_new(FILE *f);
/* Ends the output with a newline, flushes, frees, sets *self_p to NULL. */
void jsonw_destroy(json_writer_t **self_p);
void jsonw_pretty(json_writer_t *self, bool on);
/* Nonzero once a write failed or the calls did not nest (name outside an
 * object, unbalanced end, ...). */
int jsonw_error(const json_writer_t *self);

void jsonw_start_object(json_writer_t *self);
void jsonw_end_object(json_writer_t *self);
void jsonw_start_array(json_writer_t *self);
void jsonw_end_array(json_writer_t *self);

/* Member name in an object: the next call writes its value. */
void jsonw_name(json_writer_t *self, const char *name);

void jsonw_string(json_writer_t *self, const char *value);
/* value may be NULL: writes null */
void jsonw_string_or_null(json_writer_t *self, const char *value);
void jsonw_bool(json_writer_t *self, bool value);
void jsonw_null(json_writer_t *self);
void jsonw_uint(json_writer_t *self, uint64_t value);
void jsonw_int(json_writer_t *self, int64_t value);
void jsonw_float(json_writer_t *self, double value);
void jsonw_float_fmt(json_writer_t *self, const char *fmt, double value);
/* A raw value, printed as given: the caller makes it valid JSON. */
void jsonw_printf(json_writer_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void jsonw_string_field(json_writer_t *self, const char *name, const char *value);
void jsonw_bool_field(json_writer_t *self, const char *name, bool value);
void jsonw_null_field(json_writer_t *self, const char *name);
void jsonw_uint_field(json_writer_t *self, const char *name, uint64_t value);
void jsonw_int_field(json_writer_t *self, const char *name, int64_t value);
void jsonw_float_field(json_writer_t *self, const char *name, double value);
void jsonw_float_field_fmt(json_writer_t *self, const char *name, const char *fmt, double value);

#endif /* MIGSCOPE_JSON_WRITER_H */
