/* SPDX-License-Identifier: MIT */
/*
 * A small unit test registry: each TEST() registers itself before main()
 * runs, so adding a test file to tests/unit/ is all it takes.
 */
#ifndef SLOOP_UNIT_H
#define SLOOP_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	const char *file;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *expr);
/* Path of a data file: $SLOOP_SRCDIR/rel, or rel from the checkout. */
const char *unit_path(const char *rel);

#define TEST(name_)							\
	static void test_##name_(void);					\
	static struct unit_test unit_##name_ = {			\
		.name = #name_, .file = __FILE__, .fn = test_##name_,	\
	};								\
	__attribute__((constructor)) static void reg_##name_(void)	\
	{								\
		unit_register(&unit_##name_);				\
	}								\
	static void test_##name_(void)

/* A failed check records the failure and leaves the test function. */
#define CHECK(expr)							\
	do {								\
		if (!(expr)) {						\
			unit_fail(__FILE__, __LINE__, #expr);		\
			return;						\
		}							\
	} while (0)

#define CHECK_EQ_INT(a, b)						\
	do {								\
		long long a_ = (long long)(a), b_ = (long long)(b);	\
		if (a_ != b_) {						\
			fprintf(stderr, "  %s = %lld, %s = %lld\n",	\
				#a, a_, #b, b_);			\
			unit_fail(__FILE__, __LINE__, #a " == " #b);	\
			return;						\
		}							\
	} while (0)

#define CHECK_EQ_STR(a, b)						\
	do {								\
		const char *a_ = (a), *b_ = (b);			\
		if (!a_ || !b_ || strcmp(a_, b_)) {			\
			fprintf(stderr, "  %s = \"%s\", %s = \"%s\"\n",	\
				#a, a_ ? a_ : "(null)", #b,		\
				b_ ? b_ : "(null)");			\
			unit_fail(__FILE__, __LINE__, #a " == " #b);	\
			return;						\
		}							\
	} while (0)

#endif
