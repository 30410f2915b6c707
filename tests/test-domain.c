/* test-domain.c: field domains: stored and read back (also after a
 * restart), checked (ranges, required fields on insert and update, code
 * lists), invalid domains refused, and setting one is an action. */
#include "config.h"

#include "dothi-domain.h"
#include "dothi-edit.h"
#include "dothi-error.h"
#include "dothi-project.h"
#include "dothi-store.h"
#include "dothi-style.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define LAYER "thua_dat"
#define TITLE "Thửa đất"

typedef struct {
  char         *dir;
  char         *path;
  DothiProject *project;
} Fixture;

static void
create_layer (DothiProject *project)
{
  DothiStore *store = dothi_project_get_store (project);
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GError) error = NULL;

  info->name = g_strdup (LAYER);
  info->title = g_strdup (TITLE);
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  info->srid = 9218;
  dothi_layer_info_add_field (info, "so_thua", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "dien_tich", DOTHI_FIELD_REAL);
  dothi_layer_info_add_field (info, "muc_dich", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "chu", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "ngay", DOTHI_FIELD_DATE);

  g_assert_true (dothi_store_begin (store, "Nhập thửa đất", &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_create_layer (store, info, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_finish_layer (store, LAYER, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_store_commit (store, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = dothi_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "tan-lap.dothi", NULL);
  f->project = dothi_project_create (f->path, NULL, &error);
  g_assert_no_error (error);
  create_layer (f->project);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
reopen (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->project);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/* Sets the rules used by the checks: so_thua required, dien_tich in
 * 0..100, muc_dich one of three land-use codes. */
static void
set_rules (DothiProject *project)
{
  g_autoptr(DothiDomain) number = dothi_domain_new ();
  g_autoptr(DothiDomain) area = dothi_domain_new ();
  g_autoptr(DothiDomain) use = dothi_domain_new ();
  g_autoptr(GError) error = NULL;

  number->required = TRUE;
  area->has_min = TRUE;
  area->min = 0;
  area->has_max = TRUE;
  area->max = 100;
  dothi_domain_add_code (use, "ODT", "Đất ở tại đô thị");
  dothi_domain_add_code (use, "CLN", "Đất trồng cây lâu năm");
  dothi_domain_add_code (use, "DGT", NULL);

  g_assert_true (dothi_domain_set (project, LAYER, "so_thua", number, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_domain_set (project, LAYER, "dien_tich", area, &error));
  g_assert_no_error (error);
  g_assert_true (dothi_domain_set (project, LAYER, "muc_dich", use, &error));
  g_assert_no_error (error);
}

static gboolean
check (DothiProject *project, const char *json, gboolean is_insert, GError **error)
{
  g_autoptr(GHashTable) domains = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(JsonObject) properties = json ? parse_object (json) : NULL;
  g_autoptr(GError) local = NULL;

  info = dothi_project_get_layer (project, LAYER, &local);
  g_assert_no_error (local);
  domains = dothi_domain_get_all (project, LAYER, &local);
  g_assert_no_error (local);
  g_assert_nonnull (domains);
  return dothi_domain_check_properties (domains, info, properties, is_insert, error);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr(GHashTable) none = NULL;
  g_autoptr(GHashTable) domains = NULL;
  g_autoptr(GError) error = NULL;
  const DothiDomain *d;
  const DothiDomainCode *code;

  /* No table yet: no constraint, and nothing is created by reading. */
  none = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_nonnull (none);
  g_assert_cmpuint (g_hash_table_size (none), ==, 0);
  g_assert_true (check (f->project, "{\"dien_tich\": 5000}", TRUE, &error));
  g_assert_no_error (error);

  set_rules (f->project);
  reopen (f);
  domains = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (domains), ==, 3);

  d = g_hash_table_lookup (domains, "so_thua");
  g_assert_nonnull (d);
  g_assert_true (d->required);
  g_assert_false (d->has_min);
  g_assert_false (d->has_max);
  g_assert_null (d->codes);

  d = g_hash_table_lookup (domains, "dien_tich");
  g_assert_nonnull (d);
  g_assert_false (d->required);
  g_assert_true (d->has_min);
  g_assert_cmpfloat_with_epsilon (d->min, 0.0, 1e-12);
  g_assert_true (d->has_max);
  g_assert_cmpfloat_with_epsilon (d->max, 100.0, 1e-12);

  d = g_hash_table_lookup (domains, "muc_dich");
  g_assert_nonnull (d);
  g_assert_nonnull (d->codes);
  g_assert_cmpuint (d->codes->len, ==, 3);
  /* In the order given, labels kept (Vietnamese intact). */
  code = g_ptr_array_index (d->codes, 0);
  g_assert_cmpstr (code->value, ==, "ODT");
  g_assert_cmpstr (code->label, ==, "Đất ở tại đô thị");
  code = g_ptr_array_index (d->codes, 2);
  g_assert_cmpstr (code->value, ==, "DGT");
  g_assert_null (code->label);
  g_assert_null (g_hash_table_lookup (domains, "chu"));

  /* An empty domain removes the row. */
  g_assert_true (dothi_domain_set (f->project, LAYER, "so_thua", NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&domains, g_hash_table_unref);
  domains = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (domains), ==, 2);
  g_assert_null (g_hash_table_lookup (domains, "so_thua"));
}

static void
test_range (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiDomain) at_least = dothi_domain_new ();

  set_rules (f->project);
  g_assert_true (check (f->project, "{\"so_thua\": 1, \"dien_tich\": 100}", TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (check (f->project, "{\"so_thua\": 1, \"dien_tich\": 0}", TRUE, &error));
  g_assert_no_error (error);

  g_assert_false (check (f->project, "{\"so_thua\": 1, \"dien_tich\": 150}", TRUE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "Field “dien_tich” of “Thửa đất” must be between 0 and 100");
  assert_contains (error->message, "150");
  g_clear_error (&error);

  /* An update is checked too; a fraction is shown as typed. */
  g_assert_false (check (f->project, "{\"dien_tich\": -0.5}", FALSE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "dien_tich");
  assert_contains (error->message, "-0.5");
  g_clear_error (&error);

  /* Only a minimum. */
  at_least->has_min = TRUE;
  at_least->min = 1;
  g_assert_true (dothi_domain_set (f->project, LAYER, "so_thua", at_least, &error));
  g_assert_no_error (error);
  g_assert_false (check (f->project, "{\"so_thua\": 0}", FALSE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "Field “so_thua” of “Thửa đất” must be at least 1");
  g_clear_error (&error);
  /* so_thua is no longer required: null is fine now. */
  g_assert_true (check (f->project, "{\"so_thua\": null}", FALSE, &error));
  g_assert_no_error (error);
}

static void
test_required (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  set_rules (f->project);

  /* Insert: absent or null is refused. */
  g_assert_false (check (f->project, "{\"dien_tich\": 50}", TRUE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "Field “so_thua” is required");
  g_clear_error (&error);
  g_assert_false (check (f->project, "{\"so_thua\": null}", TRUE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "so_thua");
  g_clear_error (&error);
  g_assert_false (check (f->project, NULL, TRUE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* Update: absent is fine (unchanged), null is refused. */
  g_assert_true (check (f->project, "{\"chu\": \"Nguyễn Văn A\"}", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (check (f->project, NULL, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (check (f->project, "{\"so_thua\": null}", FALSE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "Field “so_thua” is required");
  g_clear_error (&error);

  /* Fields without rules may be null. */
  g_assert_true (check (f->project, "{\"so_thua\": 7, \"chu\": null, \"dien_tich\": null}",
                        TRUE, &error));
  g_assert_no_error (error);
}

static void
test_codes (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiDomain) ints = dothi_domain_new ();
  g_autoptr(GHashTable) domains = NULL;
  const DothiDomain *d;

  set_rules (f->project);
  g_assert_true (check (f->project, "{\"muc_dich\": \"CLN\"}", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (check (f->project, "{\"muc_dich\": null}", FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (check (f->project, "{\"muc_dich\": \"XYZ\"}", FALSE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“XYZ” is not a code of field “muc_dich”");
  g_clear_error (&error);

  /* Codes of a whole-number field: written "03", stored and matched as 3. */
  dothi_domain_add_code (ints, "03", "Thửa số ba");
  dothi_domain_add_code (ints, "4", NULL);
  g_assert_true (dothi_domain_set (f->project, LAYER, "so_thua", ints, &error));
  g_assert_no_error (error);
  domains = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  d = g_hash_table_lookup (domains, "so_thua");
  g_assert_nonnull (dothi_domain_find_code (d, "3"));
  g_assert_cmpstr (dothi_domain_find_code (d, "3")->label, ==, "Thửa số ba");
  g_assert_true (check (f->project, "{\"so_thua\": 3}", FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (check (f->project, "{\"so_thua\": 5}", FALSE, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "“5” is not a code of field “so_thua”");
  g_clear_error (&error);

  /* JSON code lists: an object, labels as text. */
  g_assert_true (dothi_domain_set_codes_from_json (ints, "{\"ODT\": \"Đất ở\", \"LUC\": null}",
                                                   "muc_dich", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ints->codes->len, ==, 2);
  g_assert_false (dothi_domain_set_codes_from_json (ints, "[\"ODT\"]", "muc_dich", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "muc_dich");
  g_clear_error (&error);
  g_assert_false (dothi_domain_set_codes_from_json (ints, "{\"ODT\": 3}", "muc_dich", &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_clear_error (&error);
}

static void
test_invalid (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiDomain) d = dothi_domain_new ();
  g_autoptr(GHashTable) domains = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;

  before = dothi_audit_list_actions (f->project, 0, 0, &error);
  g_assert_no_error (error);

  d->has_min = TRUE;
  d->min = 10;
  d->has_max = TRUE;
  d->max = 5;
  g_assert_false (dothi_domain_set (f->project, LAYER, "dien_tich", d, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "dien_tich");
  assert_contains (error->message, "10");
  assert_contains (error->message, "5");
  g_clear_error (&error);

  /* A range on text. */
  d->min = 0;
  g_assert_false (dothi_domain_set (f->project, LAYER, "chu", d, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "chu");
  g_clear_error (&error);

  /* Codes on a date; a code of a whole-number field that is not one. */
  d->has_min = d->has_max = FALSE;
  dothi_domain_add_code (d, "ODT", NULL);
  g_assert_false (dothi_domain_set (f->project, LAYER, "ngay", d, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "ngay");
  g_clear_error (&error);
  g_assert_false (dothi_domain_set (f->project, LAYER, "so_thua", d, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  assert_contains (error->message, "ODT");
  g_clear_error (&error);

  /* Unknown field and layer. */
  g_assert_false (dothi_domain_set (f->project, LAYER, "khong_co", d, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  assert_contains (error->message, "khong_co");
  g_clear_error (&error);
  g_assert_false (dothi_domain_set (f->project, "khong_co_lop", "chu", d, &error));
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Nothing was written, and no action was recorded. */
  domains = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (domains), ==, 0);
  after = dothi_audit_list_actions (f->project, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->len, ==, before->len);
}

static void
test_action (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(DothiDomain) d = dothi_domain_new ();
  const DothiActionInfo *newest;

  before = dothi_audit_list_actions (f->project, 0, 0, &error);
  g_assert_no_error (error);

  d->has_max = TRUE;
  d->max = 100;
  g_assert_true (dothi_domain_set (f->project, LAYER, "dien_tich", d, &error));
  g_assert_no_error (error);

  after = dothi_audit_list_actions (f->project, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->len, ==, before->len + 1);
  newest = g_ptr_array_index (after, 0);
  g_assert_cmpint (newest->id, >, 0);
  assert_contains (newest->label, "dien_tich");
  assert_contains (newest->label, TITLE);
  g_assert_cmpuint (newest->n_features, ==, 0);
}

static void
test_from_style (void)
{
  g_autoptr(DothiStyle) style = dothi_style_new (DOTHI_STYLE_CATEGORISED);
  g_autoptr(DothiDomain) d = NULL;
  DothiSymbol symbol = { { 1, 0, 0, 1 }, { 0, 0, 0, 1 }, 1, 6, DOTHI_MARKER_CIRCLE };

  style->field = g_strdup ("muc_dich");
  dothi_style_add_rule (style, "Đất ở đô thị", "ODT", 0, 0, &symbol);
  dothi_style_add_rule (style, "CLN", "CLN", 0, 0, &symbol);
  dothi_style_add_rule (style, "Đất ở đô thị (lặp)", "ODT", 0, 0, &symbol);

  g_assert_null (dothi_domain_new_from_style (style, "chu"));
  g_assert_null (dothi_domain_new_from_style (NULL, "muc_dich"));
  d = dothi_domain_new_from_style (style, "muc_dich");
  g_assert_nonnull (d);
  g_assert_false (d->required);
  g_assert_cmpuint (d->codes->len, ==, 2);
  g_assert_cmpstr (dothi_domain_find_code (d, "ODT")->label, ==, "Đất ở đô thị");
  /* A legend that only repeats the code gets the land-use name. */
  g_assert_cmpstr (dothi_domain_find_code (d, "CLN")->label, ==,
                   dothi_style_land_use_name ("CLN"));
  g_assert_nonnull (dothi_domain_find_code (d, "CLN")->label);
}

static void
test_format_number (void)
{
  g_autofree char *whole = dothi_domain_format_number (100);
  g_autofree char *fraction = dothi_domain_format_number (-0.5);

  /* LC_ALL=C.UTF-8 in the tests: no grouping, a decimal point. */
  g_assert_cmpstr (whole, ==, "100");
  g_assert_cmpstr (fraction, ==, "-0.5");
}

/* dothi_edit_apply_sync enforces the domains: a missing required field on
 * insert and an out-of-range value on update are refused. */
static void
test_apply (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiChangeSet) set = dothi_change_set_new ();
  g_autoptr(DothiChangeSet) ok = dothi_change_set_new ();
  g_autoptr(JsonObject) bad = parse_object ("{\"dien_tich\": 50}");
  g_autoptr(JsonObject) good = parse_object ("{\"so_thua\": 3, \"dien_tich\": 50, \"muc_dich\": \"ODT\"}");
  g_autoptr(JsonObject) upd = parse_object ("{\"dien_tich\": 150}");
  g_autoptr(DothiChangeSet) set2 = dothi_change_set_new ();
  g_autoptr(GArray) fids = NULL;

  set_rules (f->project);
  dothi_change_set_insert (set, LAYER, bad, NULL);
  g_assert_cmpint (dothi_edit_apply_sync (f->project, set, NULL, NULL, NULL, NULL, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  dothi_change_set_insert (ok, LAYER, good, NULL);
  g_assert_cmpint (dothi_edit_apply_sync (f->project, ok, NULL, &fids, NULL, NULL, NULL, &error), >, 0);
  g_assert_no_error (error);
  dothi_change_set_update (set2, LAYER, g_array_index (fids, gint64, 0), upd, NULL);
  g_assert_cmpint (dothi_edit_apply_sync (f->project, set2, NULL, NULL, NULL, NULL, NULL, &error), ==, 0);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
}

/* Setting field rules is undone and redone like any action, across a
 * reopen of the project. */
static void
test_undo (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiDomain) d = dothi_domain_new ();
  g_autoptr(GHashTable) now = NULL;
  g_autoptr(GHashTable) undone = NULL;
  g_autoptr(GHashTable) redone = NULL;
  g_autofree char *label = NULL;
  DothiDomain *got;

  d->has_min = TRUE;
  d->min = 0;
  d->has_max = TRUE;
  d->max = 100;
  g_assert_true (dothi_domain_set (f->project, LAYER, "dien_tich", d, &error));
  g_assert_no_error (error);
  now = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g_hash_table_lookup (now, "dien_tich"));

  label = dothi_edit_dup_undo_label (f->project);
  g_assert_nonnull (label);
  assert_contains (label, "dien_tich");
  g_assert_cmpint (dothi_edit_undo_sync (f->project, NULL, &error), >, 0);
  g_assert_no_error (error);
  undone = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  g_assert_null (g_hash_table_lookup (undone, "dien_tich"));

  g_clear_object (&f->project);
  f->project = dothi_project_open (f->path, DOTHI_PROJECT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dothi_edit_redo_sync (f->project, NULL, &error), >, 0);
  g_assert_no_error (error);
  redone = dothi_domain_get_all (f->project, LAYER, &error);
  g_assert_no_error (error);
  got = g_hash_table_lookup (redone, "dien_tich");
  g_assert_nonnull (got);
  g_assert_true (got->has_max);
  g_assert_cmpfloat (got->max, ==, 100);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/domain/round-trip", test_round_trip);
  ADD ("/domain/range", test_range);
  ADD ("/domain/required", test_required);
  ADD ("/domain/codes", test_codes);
  ADD ("/domain/invalid", test_invalid);
  ADD ("/domain/action", test_action);
  ADD ("/domain/apply", test_apply);
  ADD ("/domain/undo", test_undo);
  g_test_add_func ("/domain/from-style", test_from_style);
  g_test_add_func ("/domain/format-number", test_format_number);

  return g_test_run ();
}
