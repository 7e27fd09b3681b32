// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "json_writer.h"

#define JSONW_MAX_DEPTH 64

struct json_writer {
	FILE *out;
	bool pretty;
	bool after_name; /* a name was written: the value follows, no separator */
	bool first;	 /* nothing written yet in the current container */
	bool err;
	unsigned int depth;
	char stack[JSONW_MAX_DEPTH]; /* '{' or '[' per open container */
};

json_writer_t *jsonw_new(FILE *f)
{
	json_writer_t *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->out = f;
	w->first = true;
	return w;
}

void jsonw_destroy(json_writer_t **self_p)
{
	json_writer_t *w = *self_p;

	if (!w)
		return;
	if (w->depth)
		w->err = true;
	fputc('\n', w->out);
	fflush(w->out);
	free(w);
	*self_p = NULL;
}

void jsonw_pretty(json_writer_t *self, bool on)
{
	self->pretty = on;
}

int jsonw_error(const json_writer_t *self)
{
	return self->err || ferror(self->out);
}

static void indent(json_writer_t *w)
{
	fputc('\n', w->out);
	for (unsigned int i = 0; i < w->depth; i++)
		fputs("    ", w->out);
}

/* Separator and indentation before a value or a name. */
static void begin(json_writer_t *w, bool is_name)
{
	char in = w->depth ? w->stack[w->depth - 1] : 0;

	if (w->after_name) {
		if (is_name)
			w->err = true; /* two names in a row */
		w->after_name = false;
		return;
	}
	if (is_name ? in != '{' : in == '{')
		w->err = true; /* name outside an object, or value without a name */
	if (!w->first)
		fputc(',', w->out);
	if (w->pretty && w->depth)
		indent(w);
	w->first = false;
}

static void put_escaped(json_writer_t *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', w->out);
	while (*p) {
		unsigned char c = *p;
		int len = 0;

		if (c < 0x80) {
			switch (c) {
			case '"': fputs("\\\"", w->out); break;
			case '\\': fputs("\\\\", w->out); break;
			case '\b': fputs("\\b", w->out); break;
			case '\f': fputs("\\f", w->out); break;
			case '\n': fputs("\\n", w->out); break;
			case '\r': fputs("\\r", w->out); break;
			case '\t': fputs("\\t", w->out); break;
			default:
				if (c < 0x20 || c == 0x7f)
					fprintf(w->out, "\\u%04x", c);
				else
					fputc(c, w->out);
			}
			p++;
			continue;
		}
		/* UTF-8: copy a well-formed sequence, replace anything else */
		uint32_t cp = 0, min = 0;

		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		}
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (len && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
			len = 0;
		if (!len) {
			fputs("\\ufffd", w->out);
			p++;
			continue;
		}
		fwrite(p, 1, (size_t)len, w->out);
		p += len;
	}
	fputc('"', w->out);
}

static void start(json_writer_t *w, char c)
{
	begin(w, false);
	fputc(c, w->out);
	if (w->depth >= JSONW_MAX_DEPTH) {
		w->err = true;
		return;
	}
	w->stack[w->depth++] = c;
	w->first = true;
}

static void end(json_writer_t *w, char open, char close)
{
	if (!w->depth || w->stack[w->depth - 1] != open || w->after_name) {
		w->err = true;
		return;
	}
	w->depth--;
	if (w->pretty && !w->first)
		indent(w);
	fputc(close, w->out);
	w->first = false;
}

void jsonw_start_object(json_writer_t *self)
{
	start(self, '{');
}

void jsonw_end_object(json_writer_t *self)
{
	end(self, '{', '}');
}

void jsonw_start_array(json_writer_t *self)
{
	start(self, '[');
}

void jsonw_end_array(json_writer_t *self)
{
	end(self, '[', ']');
}

void jsonw_name(json_writer_t *self, const char *name)
{
	begin(self, true);
	put_escaped(self, name);
	fputs(self->pretty ? ": " : ":", self->out);
	self->after_name = true;
}

void jsonw_string(json_writer_t *self, const char *value)
{
	begin(self, false);
	put_escaped(self, value);
}

void jsonw_string_or_null(json_writer_t *self, const char *value)
{
	if (value)
		jsonw_string(self, value);
	else
		jsonw_null(self);
}

void jsonw_bool(json_writer_t *self, bool value)
{
	begin(self, false);
	fputs(value ? "true" : "false", self->out);
}

void jsonw_null(json_writer_t *self)
{
	begin(self, false);
	fputs("null", self->out);
}

void jsonw_uint(json_writer_t *self, uint64_t value)
{
	begin(self, false);
	fprintf(self->out, "%" PRIu64, value);
}

void jsonw_int(json_writer_t *self, int64_t value)
{
	begin(self, false);
	fprintf(self->out, "%" PRId64, value);
}

void jsonw_float_fmt(json_writer_t *self, const char *fmt, double value)
{
	char buf[64];

	if (!isfinite(value)) {
		jsonw_null(self);
		return;
	}
	snprintf(buf, sizeof(buf), fmt, value);
	/* a locale's decimal comma is not JSON */
	for (char *c = buf; *c; c++)
		if (*c == ',')
			*c = '.';
	begin(self, false);
	fputs(buf, self->out);
}

void jsonw_float(json_writer_t *self, double value)
{
	jsonw_float_fmt(self, "%.15g", value);
}

void jsonw_printf(json_writer_t *self, const char *fmt, ...)
{
	va_list ap;

	begin(self, false);
	va_start(ap, fmt);
	vfprintf(self->out, fmt, ap);
	va_end(ap);
}

void jsonw_string_field(json_writer_t *self, const char *name, const char *value)
{
	jsonw_name(self, name);
	jsonw_string(self, value);
}

void jsonw_bool_field(json_writer_t *self, const char *name, bool value)
{
	jsonw_name(self, name);
	jsonw_bool(self, value);
}

void jsonw_null_field(json_writer_t *self, const char *name)
{
	jsonw_name(self, name);
	jsonw_null(self);
}

void jsonw_uint_field(json_writer_t *self, const char *name, uint64_t value)
{
	jsonw_name(self, name);
	jsonw_uint(self, value);
}

void jsonw_int_field(json_writer_t *self, const char *name, int64_t value)
{
	jsonw_name(self, name);
	jsonw_int(self, value);
}

void jsonw_float_field(json_writer_t *self, const char *name, double value)
{
	jsonw_name(self, name);
	jsonw_float(self, value);
}

void jsonw_float_field_fmt(json_writer_t *self, const char *name, const char *fmt, double value)
{
	jsonw_name(self, name);
	jsonw_float_fmt(self, fmt, value);
}
