/*
 * The lexer of packetdrill's script syntax (see script_lex.h and
 * tools/SCRIPTS.md). It follows packetdrill's lexer.l where real scripts
 * depend on it: "//" and C comments, numbers with an optional leading '-',
 * floats written ".1" or "0.100", "..." as one token, "--name" options,
 * quoted strings, `shell` and %{ python }% blocks (so that the parser can
 * name them when it rejects them), and dotted IPv4 addresses.
 *
 * It works on a bounded buffer and never reads past its end: the script
 * parser is a fuzz target.
 */
#include "script_lex.h"

#include <stdio.h>
#include <string.h>

void sc_lex_init(sc_lexer *lx, const char *text, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->text = text;
	lx->len = len;
	lx->line = 1;
}

static char at(const sc_lexer *lx, size_t off)
{
	return off < lx->len ? lx->text[off] : '\0';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_word_char(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }
static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Move forward n bytes, keeping line and line start up to date. */
static void advance(sc_lexer *lx, size_t n)
{
	while (n-- > 0 && lx->off < lx->len) {
		if (lx->text[lx->off] == '\n') {
			lx->line++;
			lx->line_start = lx->off + 1;
		}
		lx->off++;
	}
}

sc_pos sc_lex_pos(const sc_lexer *lx)
{
	sc_pos p = { lx->line, (uint32_t)(lx->off - lx->line_start + 1) };

	return p;
}

static void set_error(sc_lexer *lx, const char *msg)
{
	snprintf(lx->errmsg, sizeof(lx->errmsg), "%s", msg);
}

bool sc_lex_skip_space(sc_lexer *lx)
{
	for (;;) {
		char c = at(lx, lx->off);

		if (lx->off >= lx->len)
			return true;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		    c == '\v') {
			advance(lx, 1);
		} else if (c == '/' && at(lx, lx->off + 1) == '/') {
			while (lx->off < lx->len && lx->text[lx->off] != '\n')
				advance(lx, 1);
		} else if (c == '/' && at(lx, lx->off + 1) == '*') {
			lx->errpos = sc_lex_pos(lx);
			advance(lx, 2);
			for (;;) {
				if (lx->off >= lx->len) {
					set_error(lx, "unterminated /* comment");
					return false;
				}
				if (lx->text[lx->off] == '*' && at(lx, lx->off + 1) == '/') {
					advance(lx, 2);
					break;
				}
				advance(lx, 1);
			}
		} else {
			return true;
		}
	}
}

static sc_tok start_tok(const sc_lexer *lx)
{
	sc_tok t;

	memset(&t, 0, sizeof(t));
	t.pos = sc_lex_pos(lx);
	t.off = lx->off;
	t.line_start = lx->line_start;
	t.text = lx->text + lx->off;
	return t;
}

static void finish_tok(sc_lexer *lx, sc_tok *t, sc_tok_kind kind, size_t len)
{
	t->kind = kind;
	t->len = len;
	advance(lx, len);
}

/* Scan "a.b.c.d" at off; returns its length or 0. */
static size_t scan_ipv4(const sc_lexer *lx, size_t off)
{
	size_t n = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t digits = 0;

		while (is_digit(at(lx, off + n))) {
			n++;
			digits++;
		}
		if (digits == 0 || digits > 3)
			return 0;
		if (part < 3) {
			if (at(lx, off + n) != '.')
				return 0;
			n++;
		}
	}
	return n;
}

/* Decimal digits to int64 with overflow detection. */
static void parse_decimal(sc_tok *t, size_t start, size_t end)
{
	uint64_t v = 0;
	size_t i;
	bool neg = t->text[0] == '-';

	for (i = start; i < end; i++) {
		uint64_t d = (uint64_t)(t->text[i] - '0');

		if (v > (UINT64_MAX - d) / 10 || v * 10 + d > (uint64_t)INT64_MAX) {
			t->overflow = true;
			return;
		}
		v = v * 10 + d;
	}
	t->ival = neg ? -(int64_t)v : (int64_t)v;
}

static sc_tok lex_number(sc_lexer *lx)
{
	sc_tok t = start_tok(lx);
	size_t o = lx->off, n = 0, digits_start;

	if (at(lx, o) == '-')
		n++;
	if (at(lx, o + n) == '0' && (at(lx, o + n + 1) == 'x' || at(lx, o + n + 1) == 'X') &&
	    n == 0 && is_hex(at(lx, o + 2))) {
		uint64_t v = 0;

		n = 2;
		while (is_hex(at(lx, o + n))) {
			char c = at(lx, o + n);
			uint64_t d = is_digit(c) ? (uint64_t)(c - '0') :
				     (uint64_t)((c | 0x20) - 'a' + 10);

			if (v > ((uint64_t)INT64_MAX - d) / 16)
				t.overflow = true;
			else
				v = v * 16 + d;
			n++;
		}
		t.ival = (int64_t)v;
		finish_tok(lx, &t, SC_TK_HEX, n);
		return t;
	}
	if (n == 0) {
		size_t ip = scan_ipv4(lx, o);

		if (ip && !is_word_char(at(lx, o + ip)) && at(lx, o + ip) != '.') {
			finish_tok(lx, &t, SC_TK_IPV4, ip);
			return t;
		}
	}
	digits_start = n;
	while (is_digit(at(lx, o + n)))
		n++;
	/* A float is [0-9]*[.][0-9]+ as in packetdrill, so "0...0.2" is the
	 * integer 0, an ellipsis, and 0.2. */
	if (at(lx, o + n) == '.' && is_digit(at(lx, o + n + 1))) {
		n++;
		while (is_digit(at(lx, o + n)))
			n++;
		finish_tok(lx, &t, SC_TK_FLOAT, n);
		return t;
	}
	finish_tok(lx, &t, SC_TK_INT, n);
	parse_decimal(&t, digits_start, n);
	return t;
}

static sc_tok lex_delimited(sc_lexer *lx, char close, sc_tok_kind kind, const char *what)
{
	sc_tok t = start_tok(lx);
	size_t n = 1;

	lx->errpos = t.pos;
	for (;;) {
		char c;

		if (lx->off + n >= lx->len) {
			set_error(lx, what);
			t.kind = SC_TK_ERROR;
			return t;
		}
		c = lx->text[lx->off + n];
		if (c == '\\' && lx->off + n + 1 < lx->len) {
			n += 2;
			continue;
		}
		n++;
		if (c == close)
			break;
	}
	finish_tok(lx, &t, kind, n);
	return t;
}

static sc_tok lex_code(sc_lexer *lx)
{
	sc_tok t = start_tok(lx);
	size_t n = 2;

	lx->errpos = t.pos;
	for (;;) {
		if (lx->off + n + 1 >= lx->len) {
			set_error(lx, "unterminated %{ code block");
			t.kind = SC_TK_ERROR;
			return t;
		}
		if (lx->text[lx->off + n] == '}' && lx->text[lx->off + n + 1] == '%') {
			n += 2;
			break;
		}
		n++;
	}
	finish_tok(lx, &t, SC_TK_CODE, n);
	return t;
}

static sc_tok lex_one(sc_lexer *lx)
{
	sc_tok t;
	char c, c1;
	size_t n;

	if (!sc_lex_skip_space(lx)) {
		t = start_tok(lx);
		t.pos = lx->errpos;
		t.kind = SC_TK_ERROR;
		return t;
	}
	t = start_tok(lx);
	if (lx->off >= lx->len) {
		t.kind = SC_TK_EOF;
		return t;
	}
	c = lx->text[lx->off];
	c1 = at(lx, lx->off + 1);
	if (c == '.' && c1 == '.' && at(lx, lx->off + 2) == '.') {
		finish_tok(lx, &t, SC_TK_ELLIPSIS, 3);
		return t;
	}
	if (c == '-' && c1 == '-' && is_word_char(at(lx, lx->off + 2))) {
		n = 2;
		while (is_word_char(at(lx, lx->off + n)))
			n++;
		finish_tok(lx, &t, SC_TK_OPTION, n);
		return t;
	}
	if (is_digit(c) || (c == '-' && is_digit(c1)) || (c == '.' && is_digit(c1)) ||
	    (c == '-' && c1 == '.' && is_digit(at(lx, lx->off + 2))))
		return lex_number(lx);
	if (is_alpha(c) || c == '_') {
		n = 1;
		while (is_word_char(at(lx, lx->off + n)))
			n++;
		finish_tok(lx, &t, SC_TK_WORD, n);
		return t;
	}
	if (c == '"')
		return lex_delimited(lx, '"', SC_TK_STRING, "unterminated string");
	if (c == '`')
		return lex_delimited(lx, '`', SC_TK_BACKQUOTE, "unterminated `command`");
	if (c == '%' && c1 == '{')
		return lex_code(lx);
	t.punct = c;
	finish_tok(lx, &t, SC_TK_PUNCT, 1);
	return t;
}

sc_tok sc_lex_next(sc_lexer *lx)
{
	if (lx->has_peek) {
		lx->has_peek = false;
		return lx->peek;
	}
	return lex_one(lx);
}

const sc_tok *sc_lex_peek(sc_lexer *lx)
{
	if (!lx->has_peek) {
		lx->peek = lex_one(lx);
		lx->has_peek = true;
	}
	return &lx->peek;
}

void sc_lex_unpeek(sc_lexer *lx)
{
	if (!lx->has_peek)
		return;
	lx->has_peek = false;
	lx->off = lx->peek.off;
	lx->line = lx->peek.pos.line;
	lx->line_start = lx->peek.line_start;
}

sc_tok sc_lex_raw(sc_lexer *lx, bool (*accept)(char c))
{
	sc_tok t;
	size_t n = 0;

	sc_lex_unpeek(lx);
	if (!sc_lex_skip_space(lx)) {
		t = start_tok(lx);
		t.pos = lx->errpos;
		t.kind = SC_TK_ERROR;
		return t;
	}
	t = start_tok(lx);
	while (lx->off + n < lx->len && lx->text[lx->off + n] != '\n' &&
	       accept(lx->text[lx->off + n]))
		n++;
	finish_tok(lx, &t, SC_TK_WORD, n);
	return t;
}

bool sc_lex_skip_note(sc_lexer *lx)
{
	size_t n = 0;

	sc_lex_unpeek(lx);
	if (!sc_lex_skip_space(lx))
		return false;
	if (at(lx, lx->off) != '(')
		return false;
	while (lx->off + n < lx->len && lx->text[lx->off + n] != '\n') {
		if (lx->text[lx->off + n] == ')') {
			advance(lx, n + 1);
			return true;
		}
		n++;
	}
	return false;
}

int sc_lex_time_us(const sc_tok *t, bool allow_negative, int64_t *us, const char **why)
{
	/* 10^9 seconds (31 years) is far beyond any script and keeps every sum
	 * of times well inside int64. */
	const int64_t max_sec = 1000000000;
	int64_t sec = 0, frac = 0;
	size_t i = 0, fdigits = 0;
	bool neg = false;

	if (t->kind != SC_TK_INT && t->kind != SC_TK_FLOAT) {
		*why = "not a number";
		return -1;
	}
	if (t->len > 0 && t->text[0] == '-') {
		neg = true;
		i = 1;
	}
	if (neg && !allow_negative) {
		*why = "negative time";
		return -1;
	}
	for (; i < t->len && t->text[i] != '.'; i++) {
		sec = sec * 10 + (t->text[i] - '0');
		if (sec > max_sec) {
			*why = "time too large";
			return -1;
		}
	}
	if (i < t->len && t->text[i] == '.') {
		for (i++; i < t->len; i++, fdigits++) {
			if (fdigits >= 6) {
				*why = "time has more than 6 decimal places (microseconds)";
				return -1;
			}
			frac = frac * 10 + (t->text[i] - '0');
		}
		while (fdigits++ < 6)
			frac *= 10;
	}
	*us = sec * 1000000 + frac;
	if (neg)
		*us = -*us;
	return 0;
}

bool sc_tok_is_word(const sc_tok *t, const char *word)
{
	size_t n = strlen(word);

	return t->kind == SC_TK_WORD && t->len == n && memcmp(t->text, word, n) == 0;
}

bool sc_tok_is_punct(const sc_tok *t, char c)
{
	return t->kind == SC_TK_PUNCT && t->punct == c;
}

const char *sc_tok_str(const sc_tok *t, char *buf, size_t cap)
{
	size_t n = t->len, i, o = 0;

	if (cap == 0)
		return buf;
	if (t->kind == SC_TK_EOF) {
		snprintf(buf, cap, "end of file");
		return buf;
	}
	/* Show only the first line of long tokens (comments, code blocks). */
	for (i = 0; i < n && o + 4 < cap; i++) {
		char c = t->text[i];

		if (c == '\n')
			break;
		buf[o++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	if (i < n && o + 4 <= cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
