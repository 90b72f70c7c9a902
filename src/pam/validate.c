/* validate.c: checks of what a player types at registration (auth.h): e-mail normalization,
 * the password policy, age from a date of birth, and the country code format. Each failure
 * names a stable reason code the API returns with the field. The password policy and its
 * reasoning (NIST SP 800-63B) are in docs/security.md. No allocation; every loop is bounded
 * by the input's length, which is checked against a named limit first. */
#include "pam/auth.h"

#include <string.h>

#include "base/base.h"

#define EMAIL_LOCAL_MIN_TO_CHECK 3 /* shorter local parts ("jo") match too many passwords */
#define REPEAT_UNIT_MAX 4          /* "abab...", "abcabc...": a unit of up to 4 repeated */

static int fail(const char **reason, const char *code)
{
    if (reason != NULL)
        *reason = code;
    return PB_ERR_INVALID;
}

static int pass(const char **reason)
{
    if (reason != NULL)
        *reason = NULL;
    return PB_OK;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ---- e-mail ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Dot-atom over a conservative character set: a-z 0-9 . _ + - ' */
static bool email_local_valid(const char *s, size_t len)
{
    if (len == 0 || len > PAM_EMAIL_LOCAL_MAX || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.' && s[i - 1] == '.')
            return false;
        if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '+' && c != '-' && c != '\'')
            return false;
    }
    return true;
}

static bool email_label_valid(const char *s, size_t len)
{
    if (len == 0 || len > PAM_EMAIL_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

/* At least two labels; the last (top-level) one not all digits, so no bare IPv4 address. */
static bool email_domain_valid(const char *s, size_t len)
{
    size_t labels = 0, start = 0;
    bool last_all_digits = true;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (!email_label_valid(s + start, i - start))
            return false;
        labels++;
        last_all_digits = true;
        for (size_t k = start; k < i; k++)
            last_all_digits = last_all_digits && s[k] >= '0' && s[k] <= '9';
        start = i + 1;
    }
    return labels >= 2 && !last_all_digits;
}

int pam_email_normalize(const char *in, size_t in_len, char out[PAM_EMAIL_SIZE],
                        const char **reason)
{
    PB_ASSERT((in != NULL || in_len == 0) && out != NULL);
    out[0] = '\0';
    size_t start = 0, end = in_len;
    while (start < end && is_space(in[start]))
        start++;
    while (end > start && is_space(in[end - 1]))
        end--;
    size_t len = end - start;
    if (len == 0)
        return fail(reason, "email_required");
    if (len > PAM_EMAIL_MAX)
        return fail(reason, "email_too_long");
    char text[PAM_EMAIL_SIZE];
    size_t at = 0, ats = 0;
    for (size_t i = 0; i < len; i++) {
        text[i] = ascii_lower(in[start + i]);
        if (text[i] == '@') {
            at = i;
            ats++;
        }
    }
    text[len] = '\0';
    if (ats != 1)
        return fail(reason, "email_invalid");
    if (!email_local_valid(text, at))
        return fail(reason, "email_local_part_invalid");
    if (!email_domain_valid(text + at + 1, len - at - 1))
        return fail(reason, "email_domain_invalid");
    memcpy(out, text, len + 1);
    PB_ASSERT(strlen(out) == len);
    return pass(reason);
}

/* ---- passwords ---- */

/* The most common passwords that are long enough to pass the length rule (shorter ones are
 * refused anyway), from the published breach-corpus top lists. Lower case; compared without
 * regard to ASCII case. */
static const char *const common_passwords[] = {
    "1234567890",    "0123456789",   "12345678910",  "123456789a",    "1234567890a",
    "a123456789",    "0987654321",   "1111111111",   "1234512345",    "123123123123",
    "1122334455",    "1234567891",   "qwertyuiop",   "qwertyuiop123", "1q2w3e4r5t",
    "1q2w3e4r5t6y",  "q1w2e3r4t5",   "qwerty1234",   "qwerty12345",   "qwerty123456",
    "asdfghjkl1",    "asdfghjkl123", "zxcvbnm123",   "1qaz2wsx3edc",  "qazwsxedc123",
    "1qazxsw23edc",  "password12",   "password123",  "password1234",  "passw0rd123",
    "p@ssw0rd123",   "p@ssword123",  "password01",   "password!!",    "password123!",
    "iloveyou12",    "iloveyou123",  "princess123",  "football123",   "baseball123",
    "sunshine123",   "superman123",  "welcome123",   "welcome1234",   "welcome123!",
    "letmein123",    "abcdefghij",   "abcd123456",   "abc1234567",    "abcdef123456",
    "administrator", "admin12345",   "admin123456",  "changeme123",   "starwars123",
    "pokemon123",    "michael123",   "liverpool123", "chelsea123",    "arsenal123",
    "qwerty123!",    "qwertyqwerty", "monkey12345",  "dragon12345",   "trustno1234",
    "master12345",   "casino1234",   "casino12345",  "poker12345",    "jackpot123",
    "blackjack21",   "roulette123",
};

static bool equal_ignoring_case(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    }
    return true;
}

static bool password_is_common(const char *pw, size_t len)
{
    for (size_t i = 0; i < PB_ARRAY_LEN(common_passwords); i++) {
        if (strlen(common_passwords[i]) == len &&
            equal_ignoring_case(pw, common_passwords[i], len))
            return true;
    }
    return false;
}

/* Strict RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static bool has_control_characters(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f)
            return true;
    }
    return false;
}

/* True when the password contains the local part of email (ASCII case ignored). */
static bool contains_email_local(const char *pw, size_t len, const char *email)
{
    if (email == NULL)
        return false;
    const char *at = strrchr(email, '@');
    size_t local_len = at != NULL ? (size_t)(at - email) : strlen(email);
    if (local_len < EMAIL_LOCAL_MIN_TO_CHECK || local_len > len)
        return false;
    for (size_t i = 0; i + local_len <= len; i++) {
        if (equal_ignoring_case(pw + i, email, local_len))
            return true;
    }
    return false;
}

/* One unit of up to REPEAT_UNIT_MAX bytes repeated ("aaaa...", "abab..."), or a run where each
 * byte is one more, or each one less, than the one before ("abcdef...", "9876..."). */
static bool is_repetitive(const unsigned char *s, size_t len)
{
    for (size_t unit = 1; unit <= REPEAT_UNIT_MAX && unit < len; unit++) {
        size_t i = unit;
        while (i < len && s[i] == s[i - unit])
            i++;
        if (i == len)
            return true;
    }
    bool up = true, down = true;
    for (size_t i = 1; i < len; i++) {
        up = up && s[i] == s[i - 1] + 1;
        down = down && s[i] + 1 == s[i - 1];
    }
    return up || down;
}

/* Classes: lower-case, upper-case, digit, anything else (symbols, space, non-ASCII). */
static unsigned class_count(const unsigned char *s, size_t len)
{
    unsigned mask = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c >= 'a' && c <= 'z')
            mask |= 1u;
        else if (c >= 'A' && c <= 'Z')
            mask |= 2u;
        else if (c >= '0' && c <= '9')
            mask |= 4u;
        else
            mask |= 8u;
    }
    return (unsigned)__builtin_popcount(mask);
}

int pam_password_strength(const char *password, size_t len, const char *email, const char **reason)
{
    PB_ASSERT(password != NULL || len == 0);
    const unsigned char *s = (const unsigned char *)password;
    if (len < PAM_PASSWORD_BYTES_MIN)
        return fail(reason, "password_too_short");
    if (len > PAM_PASSWORD_BYTES_MAX)
        return fail(reason, "password_too_long");
    if (!utf8_valid(s, len))
        return fail(reason, "password_invalid_utf8");
    if (has_control_characters(s, len))
        return fail(reason, "password_control_characters");
    if (password_is_common(password, len))
        return fail(reason, "password_common");
    if (contains_email_local(password, len, email))
        return fail(reason, "password_contains_email");
    if (is_repetitive(s, len))
        return fail(reason, "password_repetitive");
    if (len < PAM_PASSWORD_ONE_CLASS_MIN && class_count(s, len) == 1)
        return fail(reason, "password_single_class");
    return pass(reason);
}

/* ---- dates ---- */

struct date {
    int year, month, day;
};

static bool is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Strict "YYYY-MM-DD": exactly ten characters, a real date in years 0001..9999. */
static bool date_parse(const char *s, struct date *d)
{
    if (strnlen(s, PAM_DATE_TEXT_LEN + 1) != PAM_DATE_TEXT_LEN || s[4] != '-' || s[7] != '-')
        return false;
    for (size_t i = 0; i < PAM_DATE_TEXT_LEN; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    d->year = digits_value(s, 4);
    d->month = digits_value(s + 5, 2);
    d->day = digits_value(s + 8, 2);
    return d->year >= 1 && d->month >= 1 && d->month <= 12 && d->day >= 1 &&
           d->day <= days_in_month(d->year, d->month);
}

int pam_age_years(const char *date_of_birth, const char *today, int *years, const char **reason)
{
    PB_ASSERT(date_of_birth != NULL && today != NULL && years != NULL);
    struct date now, born;
    PB_ASSERT(date_parse(today, &now));
    if (!date_parse(date_of_birth, &born))
        return fail(reason, "date_invalid");
    bool before_birthday =
        now.month < born.month || (now.month == born.month && now.day < born.day);
    int age = now.year - born.year - (before_birthday ? 1 : 0);
    if (age < 0)
        return fail(reason, "date_of_birth_in_future");
    *years = age;
    PB_ASSERT(*years >= 0 && *years < 10000);
    return pass(reason);
}

int pam_country_valid(const char *code, const char **reason)
{
    PB_ASSERT(code != NULL);
    if (strnlen(code, 3) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z')
        return fail(reason, "country_invalid");
    return pass(reason);
}
