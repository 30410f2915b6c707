/* test-expression.c: the attribute-condition parser: the SQL and parameters
 * of each operator, precedence, errors with their positions, injection
 * attempts, and real queries on a small SQLite table in a temporary folder. */

#include "config.h"
#include "test-util.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-expression.h"

#include <sqlite3.h>
#include <string.h>

#define INJECTION "x'; DROP TABLE parcels; --"

typedef struct {
  char    *dir;
  sqlite3 *db;
} Fixture;

static DothiLayerInfo *
make_info (void)
{
  DothiLayerInfo *info = dothi_layer_info_new ();

  info->name = g_strdup ("parcels");
  dothi_layer_info_add_field (info, "ten", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "dien_tich", DOTHI_FIELD_REAL);
  dothi_layer_info_add_field (info, "so_to", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "ngay_cap", DOTHI_FIELD_DATE);
  dothi_layer_info_add_field (info, "cap_luc", DOTHI_FIELD_DATETIME);
  dothi_layer_info_add_field (info, "da_cap", DOTHI_FIELD_BOOLEAN);
  dothi_layer_info_add_field (info, "anh", DOTHI_FIELD_BLOB);
  dothi_layer_info_add_field (info, "ghi\"chu", DOTHI_FIELD_TEXT);
  return info;
}

/* The parameters as one line: "int64 12 | 'abc' | 100.5 | true". */
static char *
params_text (GPtrArray *params)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < params->len; i++)
    {
      g_autofree char *v = g_variant_print (g_ptr_array_index (params, i), TRUE);

      if (i > 0)
        g_string_append (s, " | ");
      g_string_append (s, v);
    }
  return g_strdup (s->str);
}

static void
assert_sql_alias (const char *text,
                  const char *alias,
                  const char *expected_sql,
                  const char *expected_params)
{
  g_autoptr(DothiLayerInfo) info = make_info ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiExpression) expr = dothi_expression_parse (text, info, &error);
  g_autoptr(GPtrArray) params = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *got = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (expr);
  sql = dothi_expression_to_sql (expr, alias, &params);
  got = params_text (params);
  g_assert_cmpstr (sql, ==, expected_sql);
  g_assert_cmpstr (got, ==, expected_params);
}

static void
assert_sql (const char *text, const char *expected_sql, const char *expected_params)
{
  assert_sql_alias (text, NULL, expected_sql, expected_params);
}

static void
assert_fails (const char *text, int code, const char *expected_message)
{
  g_autoptr(DothiLayerInfo) info = make_info ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiExpression) expr = dothi_expression_parse (text, info, &error);

  g_assert_null (expr);
  g_assert_error (error, DOTHI_ERROR, code);
  g_assert_cmpstr (error->message, ==, expected_message);
}

/* ---- SQL shapes ------------------------------------------------------------- */

static void
test_compare (void)
{
  assert_sql ("ten = 'abc'", "\"ten\" = ?1", "'abc'");
  assert_sql ("so_to <> 12", "\"so_to\" <> ?1", "int64 12");
  assert_sql ("so_to != 12", "\"so_to\" <> ?1", "int64 12");
  assert_sql ("dien_tich < 100.5", "\"dien_tich\" < ?1", "100.5");
  assert_sql ("dien_tich <= -3", "\"dien_tich\" <= ?1", "int64 -3");
  assert_sql ("dien_tich > 1e3", "\"dien_tich\" > ?1", "1000.0");
  assert_sql ("dien_tich >= .5", "\"dien_tich\" >= ?1", "0.5");
  assert_sql ("ngay_cap >= '2020-01-01'", "\"ngay_cap\" >= ?1", "'2020-01-01'");
  assert_sql ("cap_luc < '2020-01-01T08:30:00'", "\"cap_luc\" < ?1", "'2020-01-01T08:30:00'");
  assert_sql ("da_cap = TRUE", "\"da_cap\" = ?1", "true");
  assert_sql ("da_cap <> false", "\"da_cap\" <> ?1", "false");
  /* field names: any case, bare or quoted, and fid */
  assert_sql ("FID = 3", "\"fid\" = ?1", "int64 3");
  assert_sql ("\"Ten\" = 'a'", "\"ten\" = ?1", "'a'");
  assert_sql ("\"ghi\"\"chu\" = 'a'", "\"ghi\"\"chu\" = ?1", "'a'");
  /* a number for a text field is the text typed; a comma decimal is text
   * only inside quotes */
  assert_sql ("ten = 08", "\"ten\" = ?1", "'08'");
  assert_sql ("ten = '1,5'", "\"ten\" = ?1", "'1,5'");
  assert_sql ("ten = 'it''s'", "\"ten\" = ?1", "\"it's\"");
  assert_sql_alias ("ten = 'a'", "p", "\"p\".\"ten\" = ?1", "'a'");
}

static void
test_predicates (void)
{
  assert_sql ("ten LIKE 'Ng%'", "\"ten\" LIKE ?1", "'Ng%'");
  assert_sql ("ten not like '_a%'", "\"ten\" NOT LIKE ?1", "'_a%'");
  assert_sql ("ngay_cap LIKE '2020-%'", "\"ngay_cap\" LIKE ?1", "'2020-%'");
  assert_sql ("ten ILIKE '%Nguyễn%'", "dothi_fold(\"ten\") LIKE ?1", "'%nguyen%'");
  assert_sql ("ten ~= 'Ủy Ban'", "dothi_fold(\"ten\") = ?1", "'uy ban'");
  assert_sql ("so_to IN (12, 14,15)", "\"so_to\" IN (?1, ?2, ?3)",
              "int64 12 | int64 14 | int64 15");
  assert_sql ("ten NOT IN ('a')", "\"ten\" NOT IN (?1)", "'a'");
  assert_sql ("dien_tich BETWEEN 50 AND 150.5", "\"dien_tich\" BETWEEN ?1 AND ?2",
              "int64 50 | 150.5");
  assert_sql ("ngay_cap NOT BETWEEN '2020-01-01' AND '2020-12-31'",
              "\"ngay_cap\" NOT BETWEEN ?1 AND ?2", "'2020-01-01' | '2020-12-31'");
  assert_sql ("ten IS NULL", "\"ten\" IS NULL", "");
  assert_sql ("anh is not null", "\"anh\" IS NOT NULL", "");
}

static void
test_precedence (void)
{
  g_autoptr(DothiLayerInfo) info = make_info ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiExpression) expr = NULL;
  g_autoptr(GPtrArray) params = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *got = NULL;

  assert_sql ("so_to = 1 OR so_to = 2 AND so_to = 3",
              "(\"so_to\" = ?1 OR (\"so_to\" = ?2 AND \"so_to\" = ?3))",
              "int64 1 | int64 2 | int64 3");
  assert_sql ("so_to = 1 AND so_to = 2 OR so_to = 3",
              "((\"so_to\" = ?1 AND \"so_to\" = ?2) OR \"so_to\" = ?3)",
              "int64 1 | int64 2 | int64 3");
  assert_sql ("NOT so_to = 1 AND so_to = 2",
              "((NOT \"so_to\" = ?1) AND \"so_to\" = ?2)", "int64 1 | int64 2");
  assert_sql ("(so_to = 1 OR so_to = 2) AND NOT (ten IS NULL)",
              "((\"so_to\" = ?1 OR \"so_to\" = ?2) AND (NOT \"ten\" IS NULL))",
              "int64 1 | int64 2");
  /* BETWEEN's AND belongs to BETWEEN */
  assert_sql ("so_to BETWEEN 1 AND 2 AND ten = 'a'",
              "(\"so_to\" BETWEEN ?1 AND ?2 AND \"ten\" = ?3)",
              "int64 1 | int64 2 | 'a'");
  assert_sql ("((((so_to = 1))))", "\"so_to\" = ?1", "int64 1");

  /* numbering goes on after the caller's own values */
  expr = dothi_expression_parse ("so_to = 7", info, &error);
  g_assert_no_error (error);
  params = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int64 (1)));
  sql = dothi_expression_to_sql (expr, NULL, &params);
  got = params_text (params);
  g_assert_cmpstr (sql, ==, "\"so_to\" = ?2");
  g_assert_cmpstr (got, ==, "int64 1 | int64 7");
}

static void
test_errors (void)
{
  assert_fails ("tenn = 'a'", DOTHI_ERROR_NOT_FOUND, "Unknown field “tenn” at position 1");
  assert_fails ("so_to = 1 AND dien_tichx > 2", DOTHI_ERROR_NOT_FOUND,
                "Unknown field “dien_tichx” at position 15");
  /* positions count characters, not bytes */
  assert_fails ("ten = 'Nguyễn' AND xyz = 1", DOTHI_ERROR_NOT_FOUND,
                "Unknown field “xyz” at position 20");
  /* the geometry is not a field of the condition */
  assert_fails ("geom IS NULL", DOTHI_ERROR_NOT_FOUND, "Unknown field “geom” at position 1");

  /* type mismatches */
  assert_fails ("so_to = 'abc'", DOTHI_ERROR_INVALID_DATA,
                "Field “so_to” holds numbers, but the value at position 9 is not a number");
  assert_fails ("dien_tich IN (1, '2')", DOTHI_ERROR_INVALID_DATA,
                "Field “dien_tich” holds numbers, but the value at position 18 is not a number");
  assert_fails ("ngay_cap = 5", DOTHI_ERROR_INVALID_DATA,
                "Field “ngay_cap” holds dates, but the value at position 12 is not a date written 'YYYY-MM-DD'");
  assert_fails ("ngay_cap = '2021-02-30'", DOTHI_ERROR_INVALID_DATA,
                "Field “ngay_cap” holds dates, but the value at position 12 is not a date written 'YYYY-MM-DD'");
  assert_fails ("ngay_cap = '15/01/2020'", DOTHI_ERROR_INVALID_DATA,
                "Field “ngay_cap” holds dates, but the value at position 12 is not a date written 'YYYY-MM-DD'");
  assert_fails ("cap_luc > 'hôm qua'", DOTHI_ERROR_INVALID_DATA,
                "Field “cap_luc” holds dates and times, but the value at position 11 is not written 'YYYY-MM-DD' or 'YYYY-MM-DDThh:mm:ss'");
  assert_fails ("da_cap = 'yes'", DOTHI_ERROR_INVALID_DATA,
                "Field “da_cap” holds true or false, but the value at position 10 is not TRUE or FALSE");
  assert_fails ("ten = TRUE", DOTHI_ERROR_INVALID_DATA,
                "Field “ten” holds text, but the value at position 7 is not text");
  assert_fails ("so_to ~= 1", DOTHI_ERROR_INVALID_DATA,
                "Operator “~=” at position 7 does not apply to field “so_to”");
  assert_fails ("so_to LIKE '1%'", DOTHI_ERROR_INVALID_DATA,
                "Operator “LIKE” at position 7 does not apply to field “so_to”");
  assert_fails ("anh = 'x'", DOTHI_ERROR_INVALID_DATA,
                "Operator “=” at position 5 does not apply to field “anh”");
  assert_fails ("ten = NULL", DOTHI_ERROR_INVALID_DATA,
                "Nothing equals NULL: write IS NULL or IS NOT NULL (position 7)");
  assert_fails ("ten = abc", DOTHI_ERROR_INVALID_DATA,
                "“abc” at position 7 is not a value: put text in 'single quotes'");

  /* syntax */
  assert_fails ("(so_to = 1", DOTHI_ERROR_INVALID_DATA,
                "Unbalanced parentheses: the “(” at position 1 is never closed");
  assert_fails ("so_to = 1)", DOTHI_ERROR_INVALID_DATA,
                "Unbalanced parentheses: the “)” at position 10 closes nothing");
  assert_fails ("so_to = 1 AND", DOTHI_ERROR_INVALID_DATA,
                "The expression ends too early at position 14");
  assert_fails ("so_to = 1 AND OR so_to = 2", DOTHI_ERROR_INVALID_DATA,
                "Expected a field name, not “OR”, at position 15");
  assert_fails ("so_to =", DOTHI_ERROR_INVALID_DATA,
                "The expression ends too early at position 8");
  assert_fails ("so_to = 1 so_to = 2", DOTHI_ERROR_INVALID_DATA,
                "Unexpected “so_to” at position 11");
  assert_fails ("so_to 1", DOTHI_ERROR_INVALID_DATA,
                "Expected an operator after field “so_to”, not “1”, at position 7");
  assert_fails ("so_to BETWEEN 1 OR 2", DOTHI_ERROR_INVALID_DATA,
                "Unexpected “OR” at position 17");
  assert_fails ("so_to IN 1", DOTHI_ERROR_INVALID_DATA, "Unexpected “1” at position 10");
  assert_fails ("so_to IN (1, 2", DOTHI_ERROR_INVALID_DATA,
                "The expression ends too early at position 15");
  assert_fails ("ten = 'abc", DOTHI_ERROR_INVALID_DATA,
                "The text starting at position 7 has no closing quote");
  assert_fails ("\"ten = 'a'", DOTHI_ERROR_INVALID_DATA,
                "The field name starting at position 1 has no closing quote");
  assert_fails ("dien_tich = 1,5", DOTHI_ERROR_INVALID_DATA, "Unexpected “,” at position 14");
  assert_fails ("dien_tich = 0x10", DOTHI_ERROR_INVALID_DATA,
                "“0x10” at position 13 is not a number");
  assert_fails ("so_to = 1 & so_to = 2", DOTHI_ERROR_INVALID_DATA,
                "Unexpected character “&” at position 11");
  assert_fails ("   ", DOTHI_ERROR_INVALID_DATA, "The expression is empty");
  assert_fails ("ten = '\xff'", DOTHI_ERROR_INVALID_DATA,
                "The expression is not valid UTF-8 text");
}

static void
test_deep_nesting (void)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < 5000; i++)
    g_string_append_c (text, '(');
  g_string_append (text, "so_to = 1");
  assert_fails (text->str, DOTHI_ERROR_INVALID_DATA,
                "The expression is nested too deeply at position 101");

  g_string_truncate (text, 0);
  for (guint i = 0; i < 5000; i++)
    g_string_append (text, "NOT ");
  g_string_append (text, "so_to = 1");
  assert_fails (text->str, DOTHI_ERROR_INVALID_DATA,
                "The expression is nested too deeply at position 401");
}

/* ---- a real table ---------------------------------------------------------- */

static void
exec_ok (sqlite3 *db, const char *sql)
{
  char *message = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

  g_assert_cmpstr (message, ==, NULL);
  g_assert_cmpint (rc, ==, SQLITE_OK);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  static const struct {
    const char *ten;
    double      dien_tich;
    int         so_to;
    const char *ngay_cap;
    int         da_cap;      /* -1 for NULL */
    const char *ghi_chu;
  } rows[] = {
    { "Uỷ ban nhân dân phường", 120.5, 12, "2020-01-15", 1, NULL },
    { "Nguyễn Văn An", 80.0, 12, "2021-06-01", 0, NULL },
    { "Trần Thị Bình", 300.0, 13, NULL, 1, "z" },
    { NULL, 45.0, 14, "2019-12-31", -1, NULL },
    { INJECTION, 10.0, 15, "2022-03-03", 1, NULL },
  };

  f->dir = dothi_test_mkdtemp ();
  path = g_build_filename (f->dir, "t.sqlite", NULL);
  g_assert_cmpint (sqlite3_open (path, &f->db), ==, SQLITE_OK);
  exec_ok (f->db,
           "CREATE TABLE parcels (fid INTEGER PRIMARY KEY, ten TEXT, dien_tich REAL,"
           " so_to INTEGER, ngay_cap DATE, cap_luc DATETIME, da_cap BOOLEAN, anh BLOB,"
           " \"ghi\"\"chu\" TEXT)");
  g_assert_cmpint (sqlite3_prepare_v2 (f->db,
                                       "INSERT INTO parcels (ten, dien_tich, so_to, ngay_cap,"
                                       " da_cap, \"ghi\"\"chu\") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, rows[i].ten, -1, SQLITE_STATIC);
      sqlite3_bind_double (stmt, 2, rows[i].dien_tich);
      sqlite3_bind_int (stmt, 3, rows[i].so_to);
      sqlite3_bind_text (stmt, 4, rows[i].ngay_cap, -1, SQLITE_STATIC);
      if (rows[i].da_cap >= 0)
        sqlite3_bind_int (stmt, 5, rows[i].da_cap);
      else
        sqlite3_bind_null (stmt, 5);
      sqlite3_bind_text (stmt, 6, rows[i].ghi_chu, -1, SQLITE_STATIC);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
    }
  dothi_expression_register_functions (f->db);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  sqlite3_close (f->db);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
}

/* The fids (comma-separated, ascending) of the rows @text selects. */
static char *
select_fids (Fixture *f, const char *text)
{
  g_autoptr(DothiLayerInfo) info = make_info ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiExpression) expr = dothi_expression_parse (text, info, &error);
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *where = NULL;
  g_autofree char *sql = NULL;
  g_autoptr(GString) fids = g_string_new (NULL);
  int rc;

  g_assert_no_error (error);
  where = dothi_expression_to_sql (expr, "p", &params);
  sql = g_strconcat ("SELECT p.fid FROM parcels AS p WHERE ", where, " ORDER BY p.fid", NULL);
  g_assert_cmpint (sqlite3_prepare_v2 (f->db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_true (dothi_expression_bind (stmt, 1, params, &error));
  g_assert_no_error (error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_string_append_printf (fids, "%s%" G_GINT64_FORMAT, fids->len > 0 ? "," : "",
                            (gint64) sqlite3_column_int64 (stmt, 0));
  g_assert_cmpint (rc, ==, SQLITE_DONE);
  return g_strdup (fids->str);
}

static void
assert_fids (Fixture *f, const char *text, const char *expected)
{
  g_autofree char *fids = select_fids (f, text);

  g_assert_cmpstr (fids, ==, expected);
}

static gint64
count_rows (Fixture *f)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (f->db, "SELECT count(*) FROM parcels", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static void
test_sqlite (Fixture *f, gconstpointer data)
{
  /* folding: tone placement, case, tone marks, đ */
  assert_fids (f, "ten ~= 'ủy ban nhân dân phường'", "1");
  assert_fids (f, "ten ~= 'UY BAN NHAN DAN PHUONG'", "1");
  assert_fids (f, "ten = 'ủy ban nhân dân phường'", "");
  assert_fids (f, "ten ILIKE '%nguyen%'", "2");
  assert_fids (f, "ten ILIKE '%TRAN THI%'", "3");
  assert_fids (f, "ten LIKE '%nguyen%'", "");
  assert_fids (f, "ten NOT ILIKE '%nguyen%'", "1,3,5");

  assert_fids (f, "dien_tich BETWEEN 50 AND 150", "1,2");
  assert_fids (f, "dien_tich NOT BETWEEN 50 AND 150", "3,4,5");
  assert_fids (f, "so_to IN (12, 14)", "1,2,4");
  assert_fids (f, "fid NOT IN (1, 2)", "3,4,5");
  assert_fids (f, "ten IS NULL", "4");
  assert_fids (f, "ngay_cap IS NOT NULL AND ngay_cap < '2021-01-01'", "1,4");
  assert_fids (f, "ngay_cap LIKE '2021-%'", "2");
  assert_fids (f, "da_cap = FALSE", "2");
  assert_fids (f, "da_cap = TRUE AND so_to > 12", "3,5");
  assert_fids (f, "(so_to = 12 OR so_to = 13) AND dien_tich > 100", "1,3");
  assert_fids (f, "so_to = 12 OR so_to = 13 AND dien_tich > 100", "1,2,3");
  assert_fids (f, "NOT so_to = 12", "3,4,5");
  assert_fids (f, "\"ghi\"\"chu\" = 'z'", "3");
  assert_fids (f, "ten = 'Nguyễn Văn An'", "2");
}

static void
test_injection (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiLayerInfo) info = make_info ();
  g_autoptr(DothiExpression) expr = NULL;
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sql = NULL;

  /* quoted, the text is one value, found as such */
  expr = dothi_expression_parse ("ten = 'x''; DROP TABLE parcels; --'", info, &error);
  g_assert_no_error (error);
  sql = dothi_expression_to_sql (expr, NULL, &params);
  g_assert_cmpstr (sql, ==, "\"ten\" = ?1");
  g_assert_cmpuint (params->len, ==, 1);
  g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (params, 0), NULL), ==, INJECTION);
  assert_fids (f, "ten = 'x''; DROP TABLE parcels; --'", "5");
  assert_fids (f, "ten ILIKE '%drop table%'", "5");

  /* closing the quote early does not reach SQL */
  assert_fails ("ten = 'x'; DROP TABLE parcels; --'", DOTHI_ERROR_INVALID_DATA,
                "Unexpected character “;” at position 10");
  assert_fails ("ten = '' OR 1=1 --", DOTHI_ERROR_INVALID_DATA,
                "Expected a field name, not “1”, at position 13");
  assert_fails ("ten = '' OR ten = '' --", DOTHI_ERROR_INVALID_DATA,
                "Unexpected character “-” at position 22");
  assert_fails ("so_to = 1; DELETE FROM parcels", DOTHI_ERROR_INVALID_DATA,
                "Unexpected character “;” at position 10");

  /* a field name that tries to close the SQL */
  assert_fails ("fid) OR 1=1 --", DOTHI_ERROR_INVALID_DATA,
                "Expected an operator after field “fid”, not “)”, at position 4");
  assert_fails ("fid = 1) OR 1=1 --", DOTHI_ERROR_INVALID_DATA,
                "Unbalanced parentheses: the “)” at position 8 closes nothing");
  assert_fails ("\"fid) OR 1=1 --\" = 1", DOTHI_ERROR_NOT_FOUND,
                "Unknown field “fid) OR 1=1 --” at position 1");
  assert_fails ("\"ten\"\" = '' OR 1=1 --\" = 'a'", DOTHI_ERROR_NOT_FOUND,
                "Unknown field “ten\" = '' OR 1=1 --” at position 1");
  assert_fails ("fid IS NULL) OR (1=1", DOTHI_ERROR_INVALID_DATA,
                "Unbalanced parentheses: the “)” at position 12 closes nothing");

  /* the table and every row are still there */
  g_assert_cmpint (count_rows (f), ==, 5);
  assert_fids (f, "fid BETWEEN 1 AND 5", "1,2,3,4,5");
}

static void
test_bind_after_own_values (Fixture *f, gconstpointer data)
{
  g_autoptr(DothiLayerInfo) info = make_info ();
  g_autoptr(DothiExpression) expr = NULL;
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *where = NULL;
  g_autofree char *sql = NULL;

  expr = dothi_expression_parse ("so_to IN (12, 13)", info, &error);
  g_assert_no_error (error);
  params = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int64 (1)));
  where = dothi_expression_to_sql (expr, NULL, &params);
  sql = g_strconcat ("SELECT count(*) FROM parcels WHERE fid > ?1 AND ", where, NULL);
  g_assert_cmpint (sqlite3_prepare_v2 (f->db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_true (dothi_expression_bind (stmt, 1, params, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 2);

  /* a parameter the statement does not have */
  g_clear_pointer (&stmt, sqlite3_finalize);
  g_assert_cmpint (sqlite3_prepare_v2 (f->db, "SELECT ?1", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_false (dothi_expression_bind (stmt, 1, params, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED);
}

/* dothi_fold cannot end up in the schema, where QGIS would meet it. */
static void
test_direct_only (Fixture *f, gconstpointer data)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  char *message = NULL;
  int rc;

  rc = sqlite3_exec (f->db, "CREATE INDEX parcels_fold ON parcels (dothi_fold(ten))",
                     NULL, NULL, &message);
  g_assert_cmpint (rc, !=, SQLITE_OK);
  g_assert_nonnull (strstr (message, "dothi_fold"));
  sqlite3_free (message);

  /* a view may be written, but never run */
  exec_ok (f->db, "CREATE VIEW folded AS SELECT dothi_fold(ten) AS t FROM parcels");
  rc = sqlite3_prepare_v2 (f->db, "SELECT t FROM folded", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  g_assert_cmpint (rc, !=, SQLITE_ROW);
  g_assert_nonnull (strstr (sqlite3_errmsg (f->db), "dothi_fold"));

  /* nor may a trigger use it */
  g_clear_pointer (&stmt, sqlite3_finalize);
  exec_ok (f->db, "CREATE TABLE log (t TEXT)");
  exec_ok (f->db,
           "CREATE TRIGGER parcels_fold AFTER UPDATE ON parcels"
           " BEGIN INSERT INTO log VALUES (dothi_fold(NEW.ten)); END");
  rc = sqlite3_exec (f->db, "UPDATE parcels SET so_to = 16 WHERE fid = 1", NULL, NULL, &message);
  g_assert_cmpint (rc, !=, SQLITE_OK);
  g_assert_nonnull (strstr (message, "dothi_fold"));
  sqlite3_free (message);

  /* called directly it works, and NULL stays NULL */
  exec_ok (f->db, "SELECT dothi_fold(NULL), dothi_fold('Đường')");
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add_func ("/expression/sql/compare", test_compare);
  g_test_add_func ("/expression/sql/predicates", test_predicates);
  g_test_add_func ("/expression/sql/precedence", test_precedence);
  g_test_add_func ("/expression/errors", test_errors);
  g_test_add_func ("/expression/errors/deep-nesting", test_deep_nesting);
  g_test_add ("/expression/sqlite/select", Fixture, NULL,
              fixture_set_up, test_sqlite, fixture_tear_down);
  g_test_add ("/expression/sqlite/injection", Fixture, NULL,
              fixture_set_up, test_injection, fixture_tear_down);
  g_test_add ("/expression/sqlite/bind-after-own-values", Fixture, NULL,
              fixture_set_up, test_bind_after_own_values, fixture_tear_down);
  g_test_add ("/expression/sqlite/direct-only", Fixture, NULL,
              fixture_set_up, test_direct_only, fixture_tear_down);

  return g_test_run ();
}
