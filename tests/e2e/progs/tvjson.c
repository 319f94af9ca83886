// SPDX-License-Identifier: MIT
/*
 * tvjson: is stdin JSON?  For the guest tests of tvctl --json (the guest
 * has only busybox: no python, no jq).
 *
 *   tvjson            stdin is exactly one JSON value (RFC 8259)
 *   tvjson -l         every non-empty line of stdin is one JSON value
 *   tvjson -k KEY     stdin is one JSON object; print its top-level member
 *                     KEY (a string without quotes, anything else as written)
 *
 * Exit status 0 when it is (and KEY exists), 1 when not, 2 on usage.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *p;

static void ws(void)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
}

static bool value(void);

static bool string(void)
{
	if (*p++ != '"')
		return false;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return false;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return false;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
				return false;
			}
		}
		p++;
	}
	return *p++ == '"';
}

static bool number(void)
{
	const char *s = p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p > s;
}

static bool members(char close, bool object)
{
	ws();
	if (*p == close) {
		p++;
		return true;
	}
	for (;;) {
		ws();
		if (object) {
			if (!string())
				return false;
			ws();
			if (*p++ != ':')
				return false;
		}
		if (!value())
			return false;
		ws();
		if (*p == ',') {
			p++;
			continue;
		}
		return *p++ == close;
	}
}

static bool value(void)
{
	ws();
	switch (*p) {
	case '{':
		p++;
		return members('}', true);
	case '[':
		p++;
		return members(']', false);
	case '"': return string();
	case 't': return !strncmp(p, "true", 4) && (p += 4);
	case 'f': return !strncmp(p, "false", 5) && (p += 5);
	case 'n': return !strncmp(p, "null", 4) && (p += 4);
	default: return number();
	}
}

static bool one_value(const char *s)
{
	p = s;
	if (!value())
		return false;
	ws();
	return !*p;
}

/* Print top-level member @key of the object in @s. */
static bool get_key(const char *s, const char *key)
{
	const char *name, *name_end, *start;

	p = s;
	ws();
	if (*p++ != '{')
		return false;
	for (;;) {
		ws();
		name = p;
		if (!string())
			return false;
		name_end = p;
		ws();
		if (*p++ != ':')
			return false;
		ws();
		start = p;
		if (!value())
			return false;
		if ((size_t)(name_end - name) == strlen(key) + 2 &&
		    !strncmp(name + 1, key, strlen(key))) {
			if (*start == '"')
				printf("%.*s\n", (int)(p - start - 2), start + 1);
			else
				printf("%.*s\n", (int)(p - start), start);
			return true;
		}
		ws();
		if (*p++ != ',')
			return false;
	}
}

int main(int argc, char **argv)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap), *line;
	size_t n;
	bool ok = true;

	if (!buf)
		return 2;
	while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				return 2;
		}
	}
	buf[len] = '\0';
	if (argc == 1)
		return one_value(buf) ? 0 : 1;
	if (argc == 2 && !strcmp(argv[1], "-l")) {
		int lines = 0;

		for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			if (!one_value(line)) {
				fprintf(stderr, "tvjson: not JSON: %s\n", line);
				ok = false;
			}
			lines++;
		}
		return ok && lines ? 0 : 1;
	}
	if (argc == 3 && !strcmp(argv[1], "-k"))
		return one_value(buf) && get_key(buf, argv[2]) ? 0 : 1;
	fprintf(stderr, "usage: tvjson [-l | -k KEY] < input\n");
	return 2;
}
