// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the input is a web config file (exporters/web_config.c,
 * the YAML subset of Prometheus's exporter-toolkit), parsed as `serve
 * --web-config` parses one. The certificate files it names are not read
 * (wc_load does that, after wc_parse). Built by `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	struct wc_config *c;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	c = wc_parse(text, "/etc/migscope/web.yml", err, sizeof(err));
	if (c) {
		/* a parsed file's users are checked as a request's would be; an
		 * input's hash costs 2^4 rounds at most (see the corpus) */
		if (c->nusers && strncmp(c->users[0].hash + 4, "04$", 3) == 0)
			wc_check_basic(c, c->users[0].name, "x");
		wc_free(c);
	}
	free(text);
	return 0;
}
