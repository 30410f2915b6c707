/* test-cli.c: the real dothi-cli binary (DOTHI_CLI) run as a user runs it:
 * help, usage errors and exit statuses, JSON output, bad input leaving the
 * project unchanged, translated errors, and the project read by ogrinfo and
 * the spatialite and sqlite3 shells. */
#include "config.h"

#include "dothi-error.h"
#include "dothi-project.h"
#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define GML "vilis-cadastral-bmt/Thua_Dat.gml"
#define THUYDIEN "legocity-vn/thuydien.geojson"
#define HERITAGE "legocity-vn/heritage.geojson"

/* ---- running programs -------------------------------------------------- */

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_free (Run *r)
{
  g_free (r->out);
  g_free (r->err);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

/* Runs @argv with LC_ALL=C.UTF-8, LANGUAGE=@language (unset when NULL)
 * and the test's DOTHI_LOCALEDIR, and waits for it. */
static Run *
run_argv (const char *language, const char * const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cmdline = g_strjoinv (" ", (char **) argv);
  const char *localedir = g_getenv ("DOTHI_LOCALEDIR");
  Run *r = g_new0 (Run, 1);

  g_test_message ("$ %s%s%s%s", language ? "LANGUAGE=" : "", language ? language : "",
                  language ? " " : "", cmdline);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  if (language != NULL)
    g_subprocess_launcher_setenv (launcher, "LANGUAGE", language, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "LANGUAGE");
  if (localedir != NULL)
    g_subprocess_launcher_setenv (launcher, "DOTHI_LOCALEDIR", localedir, TRUE);

  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  /* Never a crash: every outcome is an exit status. */
  g_assert_true (g_subprocess_get_if_exited (proc));
  r->status = g_subprocess_get_exit_status (proc);
  if (r->err != NULL && r->err[0] != '\0')
    g_test_message ("stderr: %s", r->err);
  return r;
}

static const char *
cli_path (void)
{
  const char *cli = g_getenv ("DOTHI_CLI");

  g_assert_nonnull (cli);
  g_assert_true (g_file_test (cli, G_FILE_TEST_IS_EXECUTABLE));
  return cli;
}

static Run *
run_va (const char *language, const char *program, va_list ap)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *arg;

  g_ptr_array_add (argv, (gpointer) program);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  g_ptr_array_add (argv, NULL);
  return run_argv (language, (const char * const *) argv->pdata);
}

/* dothi-cli ARGS..., NULL-terminated. */
static G_GNUC_NULL_TERMINATED Run *
cli (const char *first, ...)
{
  va_list ap;
  Run *r;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *arg;

  g_ptr_array_add (argv, (gpointer) cli_path ());
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  r = run_argv (NULL, (const char * const *) argv->pdata);
  return r;
}

/* The same in Vietnamese. */
static G_GNUC_NULL_TERMINATED Run *
cli_vi (const char *first, ...)
{
  va_list ap;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *arg;

  g_ptr_array_add (argv, (gpointer) cli_path ());
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return run_argv ("vi", (const char * const *) argv->pdata);
}

/* Another program from PATH (ogrinfo, spatialite, sqlite3). */
static G_GNUC_NULL_TERMINATED Run *
program (const char *name, ...)
{
  g_autofree char *path = g_find_program_in_path (name);
  va_list ap;
  Run *r;

  if (path == NULL)
    g_test_message ("%s is not installed (build-aux/dev test installs it)", name);
  g_assert_nonnull (path);
  va_start (ap, name);
  r = run_va (NULL, path, ap);
  va_end (ap);
  return r;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_test_message ("“%s” does not contain “%s”", haystack, needle);
  g_assert_nonnull (haystack);
  g_assert_nonnull (strstr (haystack, needle));
}

static void
assert_not_contains (const char *haystack, const char *needle)
{
  g_assert_nonnull (haystack);
  if (strstr (haystack, needle) != NULL)
    g_test_message ("“%s” contains “%s”", haystack, needle);
  g_assert_null (strstr (haystack, needle));
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  g_assert_nonnull (text);
  node = json_from_string (text, &error);
  if (error != NULL)
    g_test_message ("not JSON: %s", text);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static JsonObject *
find_object (JsonArray *array, const char *member, const char *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (o, member, NULL), value) == 0)
        return o;
    }
  g_test_message ("no element with %s = “%s”", member, value);
  g_assert_not_reached ();
  return NULL;
}

/* ---- projects ---------------------------------------------------------- */

typedef struct {
  char *dir;
  char *project;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = dothi_test_mkdtemp ();
  f->project = g_build_filename (f->dir, "tan-lap.dothi", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  dothi_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->project);
}

static char *
path_in (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
new_project (Fixture *f)
{
  g_autoptr(Run) r = cli ("new", f->project, NULL);

  g_assert_cmpint (r->status, ==, 0);
  g_assert_true (g_file_test (f->project, G_FILE_TEST_IS_REGULAR));
}

static void
import_ok (Fixture *f, const char *source)
{
  g_autoptr(Run) r = cli ("import", f->project, source, NULL);

  g_assert_cmpint (r->status, ==, 0);
}

/* A project with the ViLIS parcels; FALSE after g_test_skip(). */
static gboolean
parcels_project (Fixture *f)
{
  g_autofree char *gml = dothi_test_shared_path (GML);

  if (gml == NULL)
    return FALSE;
  new_project (f);
  import_ok (f, gml);
  return TRUE;
}

/* "name=sha256" of every layer, as the core computes them. */
static char *
project_state (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = dothi_project_open (path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_autoptr(GPtrArray) layers = NULL;
  GString *state = g_string_new (NULL);

  g_assert_no_error (error);
  layers = dothi_project_list_layers (project, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);
      g_autofree char *sum = dothi_project_layer_checksum (project, info->name, &error);

      g_assert_no_error (error);
      g_string_append_printf (state, "%s=%s;", info->name, sum);
    }
  return g_string_free (state, FALSE);
}

/* ---- help and usage ---------------------------------------------------- */

static void
test_help (void)
{
  static const struct {
    const char *command;
    const char *options[8];
  } commands[] = {
    { "new", { "--crs", "--list-zones", NULL } },
    { "import", { "--layer", "--encoding", "--tcvn3-caps", "--src-crs", "--name", "--make-valid", "--preview", NULL } },
    { "layers", { NULL } },
    { "info", { NULL } },
    { "export", { "--layer", "--output", "--format", NULL } },
    { "check", { "--layer", NULL } },
    { "demo", { "--parcels", "--seed", NULL } },
    { "edit", { "--changes", "--layer", "--label", NULL } },
    { "undo", { NULL } },
    { "redo", { NULL } },
    { "audit", { "--feature", "--limit", NULL } },
  };
  g_autoptr(Run) top = cli ("--help", NULL);

  g_assert_cmpint (top->status, ==, 0);
  assert_contains (top->out, "dothi-cli COMMAND");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr(Run) r = cli (commands[i].command, "--help", NULL);
      g_autofree char *usage = g_strdup_printf ("dothi-cli %s", commands[i].command);

      assert_contains (top->out, commands[i].command);
      g_assert_cmpint (r->status, ==, 0);
      assert_contains (r->out, usage);
      assert_contains (r->out, "--json");
      assert_contains (r->out, "--help");
      for (guint k = 0; commands[i].options[k] != NULL; k++)
        assert_contains (r->out, commands[i].options[k]);
    }
  {
    g_autoptr(Run) r = cli ("--version", NULL);
    g_assert_cmpint (r->status, ==, 0);
    assert_contains (r->out, PACKAGE_VERSION);
  }
}

static void
test_usage_errors (Fixture *f, gconstpointer data)
{
  g_autoptr(Run) none = cli (NULL, NULL);
  g_autoptr(Run) unknown = cli ("frobnicate", NULL);
  g_autoptr(Run) bad_option = cli ("layers", "--no-such-option", f->project, NULL);
  g_autoptr(Run) new_no_file = cli ("new", NULL);
  g_autoptr(Run) new_missing_arg = cli ("new", f->project, "--crs", NULL);
  g_autoptr(Run) import_one_arg = cli ("import", f->project, NULL);
  g_autoptr(Run) export_no_output = cli ("export", f->project, NULL);
  g_autoptr(Run) demo_zero = NULL;
  g_autofree char *demo_out = path_in (f, "demo.gpkg");

  g_assert_cmpint (none->status, ==, 2);
  assert_contains (none->err, "dothi-cli COMMAND");

  g_assert_cmpint (unknown->status, ==, 2);
  assert_contains (unknown->err, "frobnicate");

  g_assert_cmpint (bad_option->status, ==, 2);
  assert_contains (bad_option->err, "--no-such-option");

  g_assert_cmpint (new_no_file->status, ==, 2);
  g_assert_cmpint (new_missing_arg->status, ==, 2);
  g_assert_cmpint (import_one_arg->status, ==, 2);
  g_assert_cmpint (export_no_output->status, ==, 2);
  assert_contains (export_no_output->err, "--output");

  demo_zero = cli ("demo", "--parcels", "0", demo_out, NULL);
  g_assert_cmpint (demo_zero->status, ==, 2);
  g_assert_false (g_file_test (demo_out, G_FILE_TEST_EXISTS));

  /* Usage errors write nothing. */
  g_assert_false (g_file_test (f->project, G_FILE_TEST_EXISTS));
}

/* ---- new, import, layers, info ----------------------------------------- */

static void
test_import_layers_info (Fixture *f, gconstpointer data)
{
  g_autofree char *gml = dothi_test_shared_path (GML);
  g_autoptr(Run) created = NULL;
  g_autoptr(Run) imported = NULL;
  g_autoptr(Run) layers = NULL;
  g_autoptr(Run) info = NULL;
  g_autoptr(Run) layer_info = NULL;
  g_autoptr(JsonNode) created_json = NULL;
  g_autoptr(JsonNode) layers_json = NULL;
  g_autoptr(JsonNode) info_json = NULL;
  g_autoptr(JsonNode) layer_json = NULL;
  JsonArray *array;
  JsonObject *o;
  const char *uuid;

  if (gml == NULL)
    return;

  created = cli ("new", "--json", f->project, NULL);
  g_assert_cmpint (created->status, ==, 0);
  created_json = parse_json (created->out);
  o = json_node_get_object (created_json);
  g_assert_cmpstr (json_object_get_string_member (o, "crs"), ==, "EPSG:9218");
  uuid = json_object_get_string_member (o, "uuid");
  g_assert_true (g_uuid_string_is_valid (uuid));

  imported = cli ("import", f->project, gml, NULL);
  g_assert_cmpint (imported->status, ==, 0);
  assert_contains (imported->out, "thua_dat");
  assert_contains (imported->out, "129");
  /* GML is opened with WRITE_GFS=NO: nothing written beside the source. */
  {
    g_autofree char *dir = g_path_get_dirname (gml);
    g_autofree char *gfs = g_build_filename (dir, "Thua_Dat.gfs", NULL);
    g_assert_false (g_file_test (gfs, G_FILE_TEST_EXISTS));
  }

  layers = cli ("layers", "--json", f->project, NULL);
  g_assert_cmpint (layers->status, ==, 0);
  layers_json = parse_json (layers->out);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (layers_json));
  array = json_node_get_array (layers_json);
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  o = json_array_get_object_element (array, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "thua_dat");
  g_assert_cmpint (json_object_get_int_member (o, "features"), ==, 129);
  g_assert_cmpint (json_object_get_int_member (o, "srid"), ==, 9218);
  g_assert_cmpstr (json_object_get_string_member (o, "geometry"), ==, "MULTIPOLYGON");
  {
    JsonArray *extent = json_object_get_array_member (o, "extent");
    g_assert_cmpuint (json_array_get_length (extent), ==, 4);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (extent, 0), 457970.55, 0.01);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (extent, 1), 1403122.20, 0.01);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (extent, 2), 458371.61, 0.01);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (extent, 3), 1403475.65, 0.01);
  }

  info = cli ("info", "--json", f->project, NULL);
  g_assert_cmpint (info->status, ==, 0);
  info_json = parse_json (info->out);
  o = json_node_get_object (info_json);
  g_assert_cmpstr (json_object_get_string_member (o, "crs"), ==, "EPSG:9218");
  g_assert_cmpstr (json_object_get_string_member (o, "uuid"), ==, uuid);
  g_assert_cmpint (json_object_get_int_member (o, "schema_version"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "layers")), ==, 1);

  layer_info = cli ("info", "--json", f->project, "thua_dat", NULL);
  g_assert_cmpint (layer_info->status, ==, 0);
  layer_json = parse_json (layer_info->out);
  o = json_node_get_object (layer_json);
  g_assert_cmpint (json_object_get_int_member (o, "features"), ==, 129);
  /* Map sheet and commune codes stay text; the area is a number. */
  array = json_object_get_array_member (o, "fields");
  g_assert_cmpstr (json_object_get_string_member (find_object (array, "name", "soHieuToBanDo"), "type"), ==, "text");
  g_assert_cmpstr (json_object_get_string_member (find_object (array, "name", "maXa"), "type"), ==, "text");
  g_assert_cmpstr (json_object_get_string_member (find_object (array, "name", "dienTich"), "type"), ==, "real");

  /* The plain-text forms work too. */
  {
    g_autoptr(Run) text = cli ("layers", f->project, NULL);
    g_autoptr(Run) text_info = cli ("info", f->project, NULL);
    g_autoptr(Run) missing_layer = cli ("info", f->project, "khong_co", NULL);

    g_assert_cmpint (text->status, ==, 0);
    assert_contains (text->out, "thua_dat");
    assert_contains (text->out, "129");
    g_assert_cmpint (text_info->status, ==, 0);
    assert_contains (text_info->out, "VN-2000 / TM-3 108-30");
    g_assert_cmpint (missing_layer->status, ==, 1);
    assert_contains (missing_layer->err, "khong_co");
  }
}

static void
test_list_zones (void)
{
  g_autoptr(Run) r = cli ("new", "--list-zones", "--json", NULL);
  g_autoptr(Run) text = cli ("new", "--list-zones", NULL);
  g_autoptr(JsonNode) node = NULL;
  JsonArray *zones;

  g_assert_cmpint (r->status, ==, 0);
  node = parse_json (r->out);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  zones = json_node_get_array (node);
  g_assert_cmpuint (json_array_get_length (zones), ==, 63);
  g_assert_cmpint (json_object_get_int_member (find_object (zones, "province", "Đắk Lắk"), "srid"), ==, 9218);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (find_object (zones, "province", "Đắk Lắk"),
                                                                 "central_meridian"), 108.5, 1e-9);
  g_assert_cmpint (json_object_get_int_member (find_object (zones, "province", "Lâm Đồng"), "srid"), ==, 5899);

  g_assert_cmpint (text->status, ==, 0);
  assert_contains (text->out, "Đắk Lắk");
  assert_contains (text->out, "EPSG:9218");
}

static void
test_new_crs (Fixture *f, gconstpointer data)
{
  g_autofree char *bad = path_in (f, "sai.dothi");
  g_autoptr(Run) r = cli ("new", "--crs", "Lâm Đồng", f->project, NULL);
  g_autoptr(Run) info = NULL;
  g_autoptr(Run) bad_crs = NULL;
  g_autoptr(Run) again = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_assert_cmpint (r->status, ==, 0);
  info = cli ("info", "--json", f->project, NULL);
  node = parse_json (info->out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "crs"), ==, "EPSG:5899");

  bad_crs = cli ("new", "--crs", "Hà Lội", bad, NULL);
  g_assert_cmpint (bad_crs->status, ==, 1);
  assert_contains (bad_crs->err, "Hà Lội");
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));

  before = project_state (f->project);
  again = cli ("new", f->project, NULL);
  g_assert_cmpint (again->status, ==, 1);
  assert_contains (again->err, f->project);
  after = project_state (f->project);
  g_assert_cmpstr (before, ==, after);
}

/* ---- import preview and bad input -------------------------------------- */

static char *
file_checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guint8 *) contents, len);
}

static gboolean
samples_contain (JsonObject *field, const char *value)
{
  JsonArray *samples = json_object_get_array_member (field, "samples");

  for (guint i = 0; i < json_array_get_length (samples); i++)
    if (g_strcmp0 (json_array_get_string_element (samples, i), value) == 0)
      return TRUE;
  return FALSE;
}

static void
test_import_preview (Fixture *f, gconstpointer data)
{
  g_autofree char *thuydien = dothi_test_shared_path (THUYDIEN);
  g_autofree char *state = NULL;
  g_autofree char *state_after = NULL;
  g_autofree char *file_sum = NULL;
  g_autofree char *file_sum_after = NULL;
  g_autoptr(Run) preview = NULL;
  g_autoptr(Run) text = NULL;
  g_autoptr(Run) layers = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) layers_node = NULL;
  JsonObject *layer;
  JsonArray *fields;

  if (thuydien == NULL || !parcels_project (f))
    return;
  state = project_state (f->project);
  file_sum = file_checksum (f->project);

  preview = cli ("import", "--preview", "--json", f->project, thuydien, NULL);
  g_assert_cmpint (preview->status, ==, 0);
  node = parse_json (preview->out);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 1);
  layer = json_array_get_object_element (json_node_get_array (node), 0);
  g_assert_cmpstr (json_object_get_string_member (layer, "layer"), ==, "thuydien");
  g_assert_cmpint (json_object_get_int_member (layer, "features"), ==, 197);
  g_assert_cmpstr (json_object_get_string_member (layer, "geometry"), ==, "MULTIPOINT");
  g_assert_cmpint (json_object_get_int_member (layer, "source_srid"), ==, 4326);
  g_assert_cmpint (json_object_get_int_member (layer, "target_srid"), ==, 9218);
  fields = json_object_get_array_member (layer, "fields");
  g_assert_true (samples_contain (find_object (fields, "name", "Status"), "Đang xây dựng"));
  g_assert_true (samples_contain (find_object (fields, "name", "Tinh"), "Cao Bằng"));
  g_assert_true (samples_contain (find_object (fields, "name", "Name"), "Hoa Thám"));

  text = cli ("import", "--preview", f->project, thuydien, NULL);
  g_assert_cmpint (text->status, ==, 0);
  assert_contains (text->out, "Đang xây dựng");
  assert_contains (text->out, "EPSG:4326");

  /* Nothing was written. */
  layers = cli ("layers", "--json", f->project, NULL);
  layers_node = parse_json (layers->out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (layers_node)), ==, 1);
  state_after = project_state (f->project);
  g_assert_cmpstr (state, ==, state_after);
  file_sum_after = file_checksum (f->project);
  g_assert_cmpstr (file_sum, ==, file_sum_after);
}

static void
assert_bad_input (Fixture *f, const char *relative)
{
  g_autofree char *source = dothi_test_shared_path (relative);
  g_autofree char *base = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(Run) r = NULL;

  if (source == NULL)
    return;
  before = project_state (f->project);
  r = cli ("import", f->project, source, NULL);
  g_assert_cmpint (r->status, ==, 1);
  base = g_path_get_basename (source);
  assert_contains (r->err, base);
  assert_contains (r->err, "dothi-cli: error: ");
  after = project_state (f->project);
  g_assert_cmpstr (before, ==, after);
}

static void
test_import_bad_input (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = path_in (f, "khong-co.gpkg");

  if (!parcels_project (f))
    return;
  assert_bad_input (f, "kuboto-microstation/test_v8.dgn");
  assert_bad_input (f, "wntr/bad_syntax.inp");

  {
    g_autofree char *before = project_state (f->project);
    g_autofree char *after = NULL;
    g_autoptr(Run) r = cli ("import", f->project, missing, NULL);

    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, missing);
    after = project_state (f->project);
    g_assert_cmpstr (before, ==, after);
  }
  {
    g_autofree char *not_project = path_in (f, "khong-phai.dothi");
    g_autofree char *gml = dothi_test_shared_path (GML);
    g_autoptr(Run) r = cli ("import", not_project, gml, NULL);

    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, not_project);
    g_assert_false (g_file_test (not_project, G_FILE_TEST_EXISTS));
  }
}

/* ---- check and export -------------------------------------------------- */

static void
test_check (Fixture *f, gconstpointer data)
{
  g_autofree char *heritage = dothi_test_shared_path (HERITAGE);
  g_autoptr(Run) bad = NULL;
  g_autoptr(Run) bad_json = NULL;
  g_autoptr(Run) clean = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *invalid;
  JsonObject *p;

  if (heritage == NULL || !parcels_project (f))
    return;
  import_ok (f, heritage);

  bad = cli ("check", "--layer", "heritage", f->project, NULL);
  g_assert_cmpint (bad->status, ==, 1);
  assert_contains (bad->out, "heritage, feature 8: ");
  assert_contains (bad->out, "Self-intersection");

  bad_json = cli ("check", "--json", f->project, NULL);
  g_assert_cmpint (bad_json->status, ==, 1);
  node = parse_json (bad_json->out);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "checked"), ==, 129 + 14);
  invalid = json_object_get_array_member (json_node_get_object (node), "invalid");
  g_assert_cmpuint (json_array_get_length (invalid), ==, 1);
  p = json_array_get_object_element (invalid, 0);
  g_assert_cmpstr (json_object_get_string_member (p, "layer"), ==, "heritage");
  g_assert_cmpint (json_object_get_int_member (p, "fid"), ==, 8);
  g_assert_cmpuint (strlen (json_object_get_string_member (p, "reason")), >, 0);

  clean = cli ("check", "-l", "thua_dat", f->project, NULL);
  g_assert_cmpint (clean->status, ==, 0);
  assert_contains (clean->out, "129");
  assert_not_contains (clean->out, "feature");
}

static void
test_export (Fixture *f, gconstpointer data)
{
  const char *names[] = { "thua_dat.gpkg", "thua_dat.geojson", "thua_dat.csv", "thua_dat.shp",
                          "thua_dat.dxf", "thua_dat.dgn", NULL };
  g_autofree char *thuydien = dothi_test_shared_path (THUYDIEN);
  g_autofree char *state = NULL;
  g_autofree char *state_after = NULL;

  if (thuydien == NULL || !parcels_project (f))
    return;
  import_ok (f, thuydien);
  state = project_state (f->project);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *out = path_in (f, names[i]);
      g_autoptr(Run) r = cli ("export", "--layer", "thua_dat", "--output", out, f->project, NULL);

      g_assert_cmpint (r->status, ==, 0);
      g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
    }
  {
    g_autofree char *cpg = path_in (f, "thua_dat.cpg");
    g_assert_true (g_file_test (cpg, G_FILE_TEST_IS_REGULAR));
  }
  {
    g_autofree char *all = path_in (f, "tat-ca.gpkg");
    g_autoptr(Run) r = cli ("export", "-o", all, f->project, NULL);
    g_autoptr(Run) again = cli ("export", "-o", all, f->project, NULL);

    g_assert_cmpint (r->status, ==, 0);
    g_assert_true (g_file_test (all, G_FILE_TEST_IS_REGULAR));
    /* An existing file is never overwritten. */
    g_assert_cmpint (again->status, ==, 1);
    assert_contains (again->err, all);
  }
  {
    g_autofree char *two = path_in (f, "hai-lop.geojson");
    g_autoptr(Run) r = cli ("export", "-o", two, f->project, NULL);
    g_assert_cmpint (r->status, ==, 1);
    g_assert_false (g_file_test (two, G_FILE_TEST_EXISTS));
  }
  {
    g_autofree char *kml = path_in (f, "thua_dat.kml");
    g_autoptr(Run) r = cli ("export", "-l", "thua_dat", "-o", kml, f->project, NULL);
    g_assert_cmpint (r->status, ==, 1);
    g_assert_false (g_file_test (kml, G_FILE_TEST_EXISTS));
  }
  state_after = project_state (f->project);
  g_assert_cmpstr (state, ==, state_after);
}

/* ---- translations ------------------------------------------------------ */

static void
test_vietnamese_errors (Fixture *f, gconstpointer data)
{
  g_autofree char *missing_source = path_in (f, "khong-co.gpkg");
  g_autofree char *want_project = g_strdup_printf ("Tệp dự án “%s” không tồn tại", f->project);
  g_autofree char *want_file = g_strdup_printf ("Tệp “%s” không tồn tại", missing_source);
  g_autoptr(Run) vi = cli_vi ("layers", f->project, NULL);
  g_autoptr(Run) en = cli ("layers", f->project, NULL);
  g_autoptr(Run) unknown = cli_vi ("frobnicate", NULL);
  g_autoptr(Run) source = NULL;
  g_autoptr(Run) help = cli_vi ("import", "--help", NULL);

  g_assert_cmpint (vi->status, ==, 1);
  assert_contains (vi->err, "dothi-cli: lỗi: ");
  assert_contains (vi->err, want_project);
  assert_not_contains (vi->err, "does not exist");

  g_assert_cmpint (en->status, ==, 1);
  assert_contains (en->err, "does not exist");
  assert_contains (en->err, f->project);

  g_assert_cmpint (unknown->status, ==, 2);
  assert_contains (unknown->err, "không có lệnh “frobnicate”");

  new_project (f);
  source = cli_vi ("import", f->project, missing_source, NULL);
  g_assert_cmpint (source->status, ==, 1);
  assert_contains (source->err, want_file);

  /* --help is translated too. */
  g_assert_cmpint (help->status, ==, 0);
  assert_not_contains (help->out, "Imports the layers of a GIS file");
}

/* ---- other programs read the project ----------------------------------- */

static void
test_ogrinfo (Fixture *f, gconstpointer data)
{
  g_autoptr(Run) all = NULL;
  g_autoptr(Run) one = NULL;

  if (!parcels_project (f))
    return;
  all = program ("ogrinfo", "-ro", "-so", "-al", f->project, NULL);
  g_assert_cmpint (all->status, ==, 0);
  assert_contains (all->out, "using driver `SQLite'");
  assert_contains (all->out, "Layer name: thua_dat");
  assert_contains (all->out, "Geometry: Multi Polygon");
  assert_contains (all->out, "Feature Count: 129");
  assert_contains (all->out, "VN-2000 / TM-3 108-30");
  /* Dothi's own tables are not offered as map layers. */
  assert_not_contains (all->out, "Layer name: dothi_");

  one = program ("ogrinfo", "-ro", "-so", f->project, "thua_dat", NULL);
  g_assert_cmpint (one->status, ==, 0);
  assert_contains (one->out, "Feature Count: 129");
  assert_contains (one->out, "ID[\"EPSG\",9218]");
  assert_contains (one->out, "diaChi: String");
}

static void
test_spatialite_shell (Fixture *f, gconstpointer data)
{
  g_autoptr(Run) count = NULL;
  g_autoptr(Run) srid = NULL;
  g_autoptr(Run) edit = NULL;
  g_autoptr(Run) audit = NULL;
  g_autoptr(Run) plain = NULL;

  if (!parcels_project (f))
    return;
  count = program ("spatialite", f->project, "SELECT count(*) FROM thua_dat;", NULL);
  g_assert_cmpint (count->status, ==, 0);
  g_assert_cmpstr (g_strstrip (count->out), ==, "129");

  srid = program ("spatialite", f->project,
                  "SELECT DISTINCT ST_SRID(geom) || ' ' || GeometryType(geom) || ' ' || ST_IsValid(geom) "
                  "FROM thua_dat;", NULL);
  g_assert_cmpint (srid->status, ==, 0);
  g_assert_cmpstr (g_strstrip (srid->out), ==, "9218 MULTIPOLYGON 1");

  /* An edit in the spatialite shell lands in Dothi's audit trail. */
  edit = program ("spatialite", f->project,
                  "UPDATE thua_dat SET tenChu = 'Hợp tác xã Tân Lập' WHERE soThuTuThua = '10';", NULL);
  g_assert_cmpint (edit->status, ==, 0);
  audit = program ("sqlite3", f->project,
                   "SELECT user || '|' || op || '|' || json_extract(after_attrs, '$.tenChu') "
                   "FROM dothi_audit ORDER BY id DESC LIMIT 1;", NULL);
  g_assert_cmpint (audit->status, ==, 0);
  g_assert_cmpstr (g_strstrip (audit->out), ==, "external|update|Hợp tác xã Tân Lập");

  /* And the project still opens in Dothi afterwards. */
  plain = cli ("info", "--json", f->project, "thua_dat", NULL);
  g_assert_cmpint (plain->status, ==, 0);
}

/* ---- the demo city ----------------------------------------------------- */

static void
test_demo (Fixture *f, gconstpointer data)
{
  g_autofree char *gpkg = path_in (f, "buon-ma-thuot.gpkg");
  g_autoptr(Run) demo = cli ("demo", "--parcels", "200", gpkg, NULL);
  g_autoptr(Run) layers = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonArray *array;

  g_assert_cmpint (demo->status, ==, 0);
  g_assert_true (g_file_test (gpkg, G_FILE_TEST_IS_REGULAR));
  new_project (f);
  import_ok (f, gpkg);

  layers = cli ("layers", "--json", f->project, NULL);
  g_assert_cmpint (layers->status, ==, 0);
  node = parse_json (layers->out);
  array = json_node_get_array (node);
  g_assert_cmpuint (json_array_get_length (array), ==, 7);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      g_assert_cmpint (json_object_get_int_member (o, "srid"), ==, 9218);
      g_assert_cmpint (json_object_get_int_member (o, "features"), >, 0);
    }
  g_assert_cmpint (json_object_get_int_member (find_object (array, "name", "parcels"), "features"), ==, 200);
}

/* ---- edit, undo, redo, audit ------------------------------------------- */

/* A project with the demo city's 50 parcels; FALSE never (the demo is
 * generated). */
static void
demo_project (Fixture *f)
{
  g_autofree char *gpkg = path_in (f, "city.gpkg");
  g_autoptr(Run) demo = cli ("demo", "--parcels", "50", gpkg, NULL);

  g_assert_cmpint (demo->status, ==, 0);
  new_project (f);
  import_ok (f, gpkg);
}

static char *
write_changes (Fixture *f, const char *name, const char *json)
{
  g_autofree char *path = path_in (f, name);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, json, -1, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static void
test_edit_undo_redo (Fixture *f, gconstpointer data)
{
  g_autofree char *changes = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *state = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *o;
  JsonArray *a;
  gint64 action;

  demo_project (f);
  before = project_state (f->project);
  changes = write_changes (f, "changes.geojson",
                           "{\"type\": \"FeatureCollection\", \"features\": ["
                           "{\"type\": \"Feature\", \"id\": 1, \"properties\": {\"ten_chu\": \"Hồ Thị Lan\"}},"
                           "{\"type\": \"Feature\", \"properties\": {\"so_thua\": 900, \"ma_xa\": \"24121\"},"
                           " \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[457000,1402000],"
                           "[457020,1402000],[457020,1402020],[457000,1402020],[457000,1402000]]]}},"
                           "{\"type\": \"Feature\", \"id\": 2, \"dothi:op\": \"delete\"}]}");

  /* Edit, as JSON. */
  {
    g_autoptr(Run) r = cli ("edit", "--json", f->project, "--changes", changes, "--layer", "parcels",
                            "--label", "Sửa thử", NULL);

    g_assert_cmpint (r->status, ==, 0);
    node = parse_json (r->out);
    o = json_node_get_object (node);
    action = json_object_get_int_member (o, "action");
    g_assert_cmpint (action, >, 0);
    g_assert_cmpint (json_object_get_int_member (o, "inserted"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (o, "updated"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (o, "deleted"), ==, 1);
    a = json_object_get_array_member (o, "new_fids");
    g_assert_cmpuint (json_array_get_length (a), ==, 1);
    g_assert_cmpint (json_array_get_int_element (a, 0), ==, 51);
    g_clear_pointer (&node, json_node_unref);
  }
  after = project_state (f->project);
  g_assert_cmpstr (after, !=, before);

  /* The history, newest first. */
  {
    g_autoptr(Run) r = cli ("audit", "--json", f->project, NULL);

    g_assert_cmpint (r->status, ==, 0);
    node = parse_json (r->out);
    a = json_node_get_array (node);
    g_assert_cmpuint (json_array_get_length (a), ==, 2);
    o = json_array_get_object_element (a, 0);
    g_assert_cmpint (json_object_get_int_member (o, "id"), ==, action);
    g_assert_cmpstr (json_object_get_string_member (o, "label"), ==, "Sửa thử");
    g_assert_cmpint (json_object_get_int_member (o, "features"), ==, 3);
    g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (o, "layers"), 0), ==, "parcels");
    g_assert_false (json_object_get_boolean_member (o, "undone"));
    g_clear_pointer (&node, json_node_unref);
  }
  {
    g_autoptr(Run) r = cli ("audit", "--json", f->project, "--feature", "parcels:1", NULL);

    g_assert_cmpint (r->status, ==, 0);
    node = parse_json (r->out);
    a = json_node_get_array (node);
    g_assert_cmpuint (json_array_get_length (a), ==, 1);
    o = json_array_get_object_element (a, 0);
    g_assert_cmpstr (json_object_get_string_member (o, "op"), ==, "update");
    g_assert_cmpint (json_object_get_int_member (o, "action"), ==, action);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o, "after"), "ten_chu"),
                     ==, "Hồ Thị Lan");
    assert_contains (json_object_get_string_member (o, "after_geometry"), "MULTIPOLYGON");
    g_clear_pointer (&node, json_node_unref);
  }
  {
    g_autoptr(Run) r = cli ("audit", f->project, "--limit", "1", NULL);

    g_assert_cmpint (r->status, ==, 0);
    assert_contains (r->out, "Sửa thử");
    assert_not_contains (r->out, "Import");
  }

  /* Undo: the layers are as before, byte for byte. */
  {
    g_autoptr(Run) r = cli ("undo", "--json", f->project, NULL);

    g_assert_cmpint (r->status, ==, 0);
    node = parse_json (r->out);
    o = json_node_get_object (node);
    g_assert_cmpint (json_object_get_int_member (o, "undo_of"), ==, action);
    g_assert_cmpstr (json_object_get_string_member (o, "label"), ==, "Undo: Sửa thử");
    g_clear_pointer (&node, json_node_unref);
  }
  state = project_state (f->project);
  g_assert_cmpstr (state, ==, before);
  {
    g_autoptr(Run) r = cli ("redo", f->project, NULL);

    g_assert_cmpint (r->status, ==, 0);
    assert_contains (r->out, "Redo: Sửa thử");
  }
  g_clear_pointer (&state, g_free);
  state = project_state (f->project);
  g_assert_cmpstr (state, ==, after);
  {
    g_autoptr(Run) r = cli ("redo", f->project, NULL);

    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, "Nothing to redo");
  }

  /* A refused change set: exit 1, the field named, nothing changed. */
  bad = write_changes (f, "bad.geojson",
                       "{\"type\": \"FeatureCollection\", \"features\": ["
                       "{\"type\": \"Feature\", \"id\": 3, \"properties\": {\"so_thua\": \"ba\"}}]}");
  {
    g_autoptr(Run) r = cli ("edit", f->project, "--changes", bad, "--layer", "parcels", NULL);

    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, "so_thua");
    assert_contains (r->err, "feature 3");
  }
  g_clear_pointer (&state, g_free);
  state = project_state (f->project);
  g_assert_cmpstr (state, ==, after);

  /* Another program changed the row: undo is refused, naming it. */
  {
    g_autoptr(Run) sql = program ("sqlite3", f->project,
                                  "UPDATE parcels SET ten_chu = 'Hộ bà Lan' WHERE fid = 1;", NULL);
    g_autoptr(Run) r = NULL;
    g_autofree char *changed = NULL;

    g_assert_cmpint (sql->status, ==, 0);
    changed = project_state (f->project);
    r = cli ("undo", f->project, NULL);
    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, "feature 1");
    assert_contains (r->err, "Thửa đất");
    g_clear_pointer (&state, g_free);
    state = project_state (f->project);
    g_assert_cmpstr (state, ==, changed);
  }
  {
    g_autoptr(Run) r = cli ("audit", f->project, NULL);

    g_assert_cmpint (r->status, ==, 0);
    assert_contains (r->out, "external");
  }
}

static void
test_edit_errors (Fixture *f, gconstpointer data)
{
  g_autofree char *changes = NULL;
  g_autofree char *missing = path_in (f, "missing.geojson");

  new_project (f);
  {
    g_autoptr(Run) r = cli ("undo", f->project, NULL);

    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, "Nothing to undo");
  }
  {
    g_autoptr(Run) r = cli ("undo", "--json", f->project, NULL);

    g_assert_cmpint (r->status, ==, 1);
    g_assert_cmpstr (r->out, ==, "");
  }
  {
    g_autoptr(Run) r = cli ("edit", f->project, NULL);
    g_assert_cmpint (r->status, ==, 2);
  }
  {
    g_autoptr(Run) r = cli ("edit", f->project, "--changes", missing, NULL);
    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, "missing.geojson");
  }
  changes = write_changes (f, "c.geojson", "{\"type\": \"FeatureCollection\", \"features\": ["
                                           "{\"type\": \"Feature\", \"properties\": {}}]}");
  {
    g_autoptr(Run) r = cli ("edit", f->project, "--changes", changes, "--layer", "khong_co", NULL);
    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, "khong_co");
  }
  {
    g_autoptr(Run) r = cli ("audit", f->project, "--feature", "parcels", NULL);
    g_assert_cmpint (r->status, ==, 2);
  }
  {
    g_autoptr(Run) r = cli ("audit", "--json", f->project, NULL);
    g_autoptr(JsonNode) node = NULL;

    g_assert_cmpint (r->status, ==, 0);
    node = parse_json (r->out);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 0);
  }
  {
    g_autoptr(Run) r = cli_vi ("undo", f->project, NULL);

    g_assert_cmpint (r->status, ==, 1);
    assert_contains (r->err, "dothi-cli: lỗi:");
  }
}

/* check --topology: two parcels overlapping by 10 m² and a 25 m² hole in
 * a third, found with their areas; exit status 1. */
static void
test_check_topology (Fixture *f, gconstpointer data)
{
  static const char geojson[] =
    "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"EPSG:9218\"}},"
    "\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"so_thua\":1},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
    "[[[457000,1402000],[457020,1402000],[457020,1402020],[457000,1402020],[457000,1402000]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"so_thua\":2},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
    "[[[457019.5,1402000],[457040,1402000],[457040,1402020],[457019.5,1402020],[457019.5,1402000]]]}}"
    "]}";
  g_autofree char *source = path_in (f, "thua.geojson");
  g_autoptr(Run) r = NULL;
  g_autoptr(Run) ok = NULL;

  g_assert_true (g_file_set_contents (source, geojson, -1, NULL));
  new_project (f);
  import_ok (f, source);

  r = cli ("check", f->project, "--topology", "thua", "--json", NULL);
  g_assert_cmpint (r->status, ==, 1);
  g_assert_nonnull (strstr (r->out, "\"overlap\""));
  g_assert_nonnull (strstr (r->out, "\"area\" : 10"));

  /* A minimum above the overlap: nothing to report. */
  ok = cli ("check", f->project, "--topology", "thua", "--min-area", "30", NULL);
  g_assert_cmpint (ok->status, ==, 0);
}

/* ---- field and layer ---------------------------------------------------- */

static char *
layer_description (const char *path, const char *layer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = dothi_project_open (path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  g_autoptr(DothiLayerInfo) info = NULL;
  GString *s = g_string_new (NULL);

  g_assert_no_error (error);
  info = dothi_project_get_layer (project, layer, &error);
  g_assert_no_error (error);
  g_string_append (s, info->title);
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *field = info->fields->pdata[i];
      g_string_append_printf (s, "|%s:%s", field->name, dothi_field_type_to_string (field->type));
    }
  return g_string_free (s, FALSE);
}

static gint64
json_action (const char *out)
{
  g_autoptr(JsonNode) node = parse_json (out);

  return json_object_get_int_member (json_node_get_object (node), "action");
}

static void
test_field_layer (Fixture *f, gconstpointer data)
{
  g_autofree char *source = write_changes (f, "tram_bom.geojson",
                                           "{\"type\": \"FeatureCollection\", \"features\": ["
                                           "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Trạm Ea Tam\"},"
                                           " \"geometry\": {\"type\": \"Point\", \"coordinates\": [108.0512, 12.6705]}}]}");
  g_autofree char *state = NULL;
  g_autofree char *desc = NULL;
  g_autofree char *now = NULL;

  new_project (f);
  import_ok (f, source);
  state = project_state (f->project);
  desc = layer_description (f->project, "tram_bom");
  g_assert_cmpstr (desc, ==, "tram_bom|ten:text");

  /* Usage errors: exit 2, nothing written. */
  {
    const char *bad[][7] = {
      { "field", NULL },
      { "field", "rename", f->project, "tram_bom", "ten", NULL },
      { "field", "add", f->project, "tram_bom", "ghi_chu", NULL },
      { "field", "add", f->project, "tram_bom", "ghi_chu", "varchar", NULL },
      { "field", "remove", f->project, "tram_bom", NULL },
      { "layer", "move", f->project, "tram_bom", "x", NULL },
      { "layer", "rename", f->project, "tram_bom", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        g_autoptr(Run) r = NULL;

        g_ptr_array_add (argv, (gpointer) cli_path ());
        for (guint k = 0; bad[i][k] != NULL; k++)
          g_ptr_array_add (argv, (gpointer) bad[i][k]);
        g_ptr_array_add (argv, NULL);
        r = run_argv (NULL, (const char * const *) argv->pdata);
        g_assert_cmpint (r->status, ==, 2);
      }
  }
  /* Refused: exit 1, the project unchanged. */
  {
    g_autoptr(Run) exists = cli ("field", "add", f->project, "tram_bom", "ten", "text", NULL);
    g_autoptr(Run) reserved = cli ("field", "add", f->project, "tram_bom", "geom", "text", NULL);
    g_autoptr(Run) missing = cli ("field", "remove", f->project, "tram_bom", "khong_co", NULL);
    g_autoptr(Run) no_layer = cli ("layer", "rename", f->project, "khong_co", "Tên", NULL);

    g_assert_cmpint (exists->status, ==, 1);
    assert_contains (exists->err, "ten");
    g_assert_cmpint (reserved->status, ==, 1);
    g_assert_cmpint (missing->status, ==, 1);
    assert_contains (missing->err, "khong_co");
    g_assert_cmpint (no_layer->status, ==, 1);
    g_clear_pointer (&now, g_free);
    now = project_state (f->project);
    g_assert_cmpstr (now, ==, state);
  }

  /* Add a field, undo, redo. */
  {
    g_autoptr(Run) r = cli ("field", "add", "--json", f->project, "tram_bom", "ngay_lap", "date", NULL);

    g_assert_cmpint (r->status, ==, 0);
    g_assert_cmpint (json_action (r->out), >, 0);
  }
  g_clear_pointer (&desc, g_free);
  desc = layer_description (f->project, "tram_bom");
  g_assert_cmpstr (desc, ==, "tram_bom|ten:text|ngay_lap:date");
  {
    g_autoptr(Run) u = cli ("undo", f->project, NULL);

    g_assert_cmpint (u->status, ==, 0);
    assert_contains (u->out, "ngay_lap");
  }
  g_clear_pointer (&desc, g_free);
  desc = layer_description (f->project, "tram_bom");
  g_assert_cmpstr (desc, ==, "tram_bom|ten:text");
  {
    g_autoptr(Run) r = cli ("redo", f->project, NULL);
    g_assert_cmpint (r->status, ==, 0);
  }
  g_clear_pointer (&desc, g_free);
  desc = layer_description (f->project, "tram_bom");
  g_assert_cmpstr (desc, ==, "tram_bom|ten:text|ngay_lap:date");

  /* Remove a field with a value, then undo: the value is back. */
  g_clear_pointer (&state, g_free);
  state = project_state (f->project);
  {
    g_autoptr(Run) r = cli ("field", "remove", f->project, "tram_bom", "ten", NULL);

    g_assert_cmpint (r->status, ==, 0);
    assert_contains (r->out, "ten");
  }
  g_clear_pointer (&desc, g_free);
  desc = layer_description (f->project, "tram_bom");
  g_assert_cmpstr (desc, ==, "tram_bom|ngay_lap:date");
  {
    g_autoptr(Run) u = cli ("undo", f->project, NULL);
    g_assert_cmpint (u->status, ==, 0);
  }
  g_clear_pointer (&now, g_free);
  now = project_state (f->project);
  g_assert_cmpstr (now, ==, state);

  /* Rename, as JSON, then undo. */
  {
    g_autoptr(Run) r = cli ("layer", "rename", "--json", f->project, "tram_bom", "Trạm bơm nước", NULL);

    g_assert_cmpint (r->status, ==, 0);
    g_assert_cmpint (json_action (r->out), >, 0);
  }
  g_clear_pointer (&desc, g_free);
  desc = layer_description (f->project, "tram_bom");
  g_assert_true (g_str_has_prefix (desc, "Trạm bơm nước|"));
  {
    g_autoptr(Run) r = cli ("layer", "rename", f->project, "tram_bom", "Trạm bơm nước", NULL);
    g_assert_cmpint (r->status, ==, 1);
  }
  {
    g_autoptr(Run) u = cli ("undo", f->project, NULL);
    g_assert_cmpint (u->status, ==, 0);
  }
  g_clear_pointer (&desc, g_free);
  desc = layer_description (f->project, "tram_bom");
  g_assert_true (g_str_has_prefix (desc, "tram_bom|"));

  /* Undo the added field, then the import itself; then nothing is left. */
  {
    g_autoptr(Run) u = cli ("undo", f->project, NULL);
    g_autoptr(Run) u2 = NULL;
    g_autoptr(Run) u3 = NULL;
    g_autoptr(Run) layers = NULL;

    g_assert_cmpint (u->status, ==, 0);
    assert_contains (u->out, "ngay_lap");
    u2 = cli ("undo", f->project, NULL);
    g_assert_cmpint (u2->status, ==, 0);
    assert_contains (u2->out, "tram_bom.geojson");
    u3 = cli ("undo", f->project, NULL);
    g_assert_cmpint (u3->status, ==, 1);
    layers = cli ("layers", f->project, NULL);
    g_assert_cmpint (layers->status, ==, 0);
    assert_not_contains (layers->out, "tram_bom");
    assert_not_contains (layers->out, "dothi_");
  }
}

/* sql: a SELECT with SpatiaLite functions runs; a write, ATTACH and a
 * file-writing function are refused (exit 1) and change nothing. */
static void
test_sql (Fixture *f, gconstpointer data)
{
  static const char geojson[] =
    "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"EPSG:9218\"}},"
    "\"features\":[{\"type\":\"Feature\",\"properties\":{\"so_thua\":1},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[457000,1402000],[457020,1402000],[457020,1402020],[457000,1402020],[457000,1402000]]]}}]}";
  g_autofree char *source = path_in (f, "thua.geojson");
  g_autofree char *out = path_in (f, "x.bin");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *blob_sql = NULL;
  g_autoptr(Run) ok = NULL;
  const char *refused[] = { "DELETE FROM thua", "ATTACH 'x.db' AS y", NULL, NULL };

  g_assert_true (g_file_set_contents (source, geojson, -1, NULL));
  new_project (f);
  import_ok (f, source);
  before = project_state (f->project);

  ok = cli ("sql", f->project, "SELECT round(ST_Area(geom), 1) AS a FROM thua", "--json", NULL);
  g_assert_cmpint (ok->status, ==, 0);
  g_assert_nonnull (strstr (ok->out, "\"400.0\""));

  blob_sql = g_strdup_printf ("SELECT BlobToFile(x'00', '%s')", out);
  refused[2] = blob_sql;
  for (guint i = 0; refused[i] != NULL; i++)
    {
      g_autoptr(Run) r = cli ("sql", f->project, refused[i], NULL);

      g_assert_cmpint (r->status, ==, 1);
      g_assert_nonnull (strstr (r->err, "read"));
    }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  after = project_state (f->project);
  g_assert_cmpstr (before, ==, after);
}

/* query: an attribute condition gives the same features as the same
 * condition written by hand in SQL; a bad field is named, an injection
 * stays a value, and the project is unchanged. */
static void
test_query (Fixture *f, gconstpointer data)
{
  static const char geojson[] =
    "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"EPSG:9218\"}},"
    "\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"so_thua\":1,\"chu\":\"Nguyễn Văn An\",\"dien_tich\":120.5},"
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[457000,1402000]}},"
    "{\"type\":\"Feature\",\"properties\":{\"so_thua\":2,\"chu\":\"Ủy ban phường\",\"dien_tich\":600},"
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[457010,1402000]}},"
    "{\"type\":\"Feature\",\"properties\":{\"so_thua\":3,\"chu\":\"Lê Thị Đào\",\"dien_tich\":800},"
    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[457020,1402000]}}]}";
  g_autofree char *source = path_in (f, "thua.geojson");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(Run) big = NULL;
  g_autoptr(Run) folded = NULL;
  g_autoptr(Run) unknown = NULL;
  g_autoptr(Run) injection = NULL;

  g_assert_true (g_file_set_contents (source, geojson, -1, NULL));
  new_project (f);
  import_ok (f, source);
  before = project_state (f->project);

  big = cli ("query", f->project, "thua", "--where", "dien_tich BETWEEN 500 AND 900", "--json", NULL);
  g_assert_cmpint (big->status, ==, 0);
  g_assert_nonnull (strstr (big->out, "\"count\" : 2"));

  /* Tone placement, case and tone marks folded. */
  folded = cli ("query", f->project, "thua", "--where", "chu ~= 'UỶ BAN PHUONG'", "--json", NULL);
  g_assert_cmpint (folded->status, ==, 0);
  g_assert_nonnull (strstr (folded->out, "\"count\" : 1"));

  unknown = cli ("query", f->project, "thua", "--where", "nha = 1", NULL);
  g_assert_cmpint (unknown->status, ==, 1);
  g_assert_nonnull (strstr (unknown->err, "nha"));

  injection = cli ("query", f->project, "thua", "--where", "chu = 'x''; DROP TABLE thua; --'", "--json", NULL);
  g_assert_cmpint (injection->status, ==, 0);
  g_assert_nonnull (strstr (injection->out, "\"count\" : 0"));
  after = project_state (f->project);
  g_assert_cmpstr (before, ==, after);
}

/* A loop of four pipes with a valve on each, fed at one corner:
 *
 *   S ──V1── B
 *   │        │
 *   V4       V2
 *   │        │
 *   D ──V3── C
 */
static void
test_network (Fixture *f, gconstpointer data)
{
  static const char pipes[] =
    "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"EPSG:9218\"}},"
    "\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"ma\":\"P1\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[457000,1402100],[457100,1402100]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"ma\":\"P2\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[457100,1402100],[457100,1402000]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"ma\":\"P3\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[457100,1402000],[457000,1402000]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"ma\":\"P4\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[457000,1402000],[457000,1402100]]}}]}";
  static const char valves[] =
    "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"EPSG:9218\"}},"
    "\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"ma_van\":\"V1\",\"trang_thai\":\"mở\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[457050,1402100]}},"
    "{\"type\":\"Feature\",\"properties\":{\"ma_van\":\"V2\",\"trang_thai\":\"mở\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[457100,1402050]}},"
    "{\"type\":\"Feature\",\"properties\":{\"ma_van\":\"V3\",\"trang_thai\":\"mở\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[457050,1402000]}},"
    "{\"type\":\"Feature\",\"properties\":{\"ma_van\":\"V4\",\"trang_thai\":\"mở\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[457000,1402050]}}]}";
  static const char source[] =
    "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"EPSG:9218\"}},"
    "\"features\":[{\"type\":\"Feature\",\"properties\":{\"ten\":\"S\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[457000,1402100]}}]}";
  static const char definition[] =
    "{\"name\": \"nuoc\", \"tolerance\": 0.5,"
    " \"edges\": [{\"layer\": \"ong\", \"id_field\": \"ma\"}],"
    " \"nodes\": [{\"layer\": \"van\", \"role\": \"valve\", \"id_field\": \"ma_van\", \"status_field\": \"trang_thai\"},"
    "           {\"layer\": \"nguon\", \"role\": \"source\"}]}";
  g_autofree char *ong = path_in (f, "ong.geojson");
  g_autofree char *van = path_in (f, "van.geojson");
  g_autofree char *nguon = path_in (f, "nguon.geojson");
  g_autofree char *json = path_in (f, "mang.json");
  g_autofree char *bad = path_in (f, "bad.json");
  g_autofree char *pdf = path_in (f, "phieu.pdf");
  g_autoptr(Run) define = NULL;
  g_autoptr(Run) refused = NULL;
  g_autoptr(Run) build = NULL;
  g_autoptr(Run) isolate = NULL;
  g_autoptr(Run) away = NULL;
  g_autoptr(Run) zones = NULL;
  g_autoptr(Run) problems_out = NULL;
  g_autoptr(Run) problems_import = NULL;
  g_autofree char *problems = path_in (f, "loi-mang.geojson");
  g_autoptr(JsonNode) zone_root = NULL;
  g_autoptr(Run) close = NULL;
  g_autoptr(Run) closed = NULL;
  g_autoptr(Run) undo = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonArray *to_close;

  g_assert_true (g_file_set_contents (ong, pipes, -1, NULL));
  g_assert_true (g_file_set_contents (van, valves, -1, NULL));
  g_assert_true (g_file_set_contents (nguon, source, -1, NULL));
  g_assert_true (g_file_set_contents (json, definition, -1, NULL));
  new_project (f);
  import_ok (f, ong);
  import_ok (f, van);
  import_ok (f, nguon);

  /* A tolerance of 1 km is refused, naming the setting. */
  g_assert_true (g_file_set_contents (bad, "{\"name\": \"x\", \"tolerance\": 1000, \"edges\": [{\"layer\": \"ong\"}],"
                                      " \"nodes\": [{\"layer\": \"nguon\", \"role\": \"source\"}]}", -1, NULL));
  refused = cli ("network", "define", f->project, bad, NULL);
  g_assert_cmpint (refused->status, ==, 1);
  assert_contains (refused->err, "tolerance");

  define = cli ("network", "define", f->project, json, NULL);
  g_assert_cmpint (define->status, ==, 0);
  build = cli ("network", "build", f->project, "nuoc", NULL);
  g_assert_cmpint (build->status, ==, 0);
  assert_contains (build->out, "8 edges");

  /* A break on P2's northern half (B to V2): the pipe between V1 and V2
   * is isolated by closing exactly those two. */
  isolate = cli ("network", "trace", f->project, "nuoc", "--isolate", "1402075,457100",
                 "--json", NULL);
  g_assert_cmpint (isolate->status, ==, 0);
  root = parse_json (isolate->out);
  to_close = json_object_get_array_member (json_node_get_object (root), "valves_to_close");
  g_assert_cmpint (json_array_get_length (to_close), ==, 2);
  g_assert_nonnull (find_object (to_close, "id", "V1"));
  g_assert_nonnull (find_object (to_close, "id", "V2"));

  /* The check's problems as a layer the project can import. */
  problems_out = cli ("network", "check", f->project, "nuoc", "-o", problems, NULL);
  g_assert_cmpint (problems_out->status, ==, 0);
  problems_import = cli ("import", f->project, problems, NULL);
  g_assert_cmpint (problems_import->status, ==, 0);

  /* Four district areas, one a corner, each bounded by its two valves. */
  zones = cli ("network", "trace", f->project, "nuoc", "--zones", "--json", NULL);
  g_assert_cmpint (zones->status, ==, 0);
  zone_root = parse_json (zones->out);
  g_assert_cmpint (json_array_get_length (json_node_get_array (zone_root)), ==, 4);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (json_array_get_object_element (json_node_get_array (zone_root), 0), "length_m"), 100.0, 1e-6);

  /* The districts as polygons: 15 m around each one's pipes (two halves
   * meeting at a corner, 100 m), in a GeoJSON file that imports as a
   * layer beside the network. A width of 0 is refused, naming it. */
  {
    g_autofree char *dma = path_in (f, "dma.geojson");
    g_autoptr(Run) bad_width = cli ("network", "trace", f->project, "nuoc", "--zones", "-o", dma,
                                    "--width", "0", NULL);
    g_autoptr(Run) write = NULL;
    g_autoptr(Run) areas = NULL;
    g_autoptr(JsonNode) area_root = NULL;
    JsonArray *row;

    g_assert_cmpint (bad_width->status, ==, 1);
    assert_contains (bad_width->err, "1000 m");
    g_assert_false (g_file_test (dma, G_FILE_TEST_EXISTS));
    write = cli ("network", "trace", f->project, "nuoc", "--zones", "-o", dma, NULL);
    g_assert_cmpint (write->status, ==, 0);
    assert_contains (write->out, "dma.geojson");
    import_ok (f, dma);
    areas = cli ("sql", "--json", f->project,
                 "SELECT count (*) AS n, min (ST_Area (geom)) AS lo, max (ST_Area (geom)) AS hi, "
                 "min (length (boundary_valves)) AS v FROM dma", NULL);
    g_assert_cmpint (areas->status, ==, 0);
    area_root = parse_json (areas->out);
    g_test_message ("%s", areas->out);
    row = json_array_get_array_element (json_object_get_array_member (json_node_get_object (area_root), "rows"), 0);
    g_assert_cmpstr (json_array_get_string_element (row, 0), ==, "4");
    /* Two 50 m halves at a right angle, 15 m each side: 2 × 50 × 30,
     * the two round ends (π·15²), the outer corner's quarter circle, less
     * the inner corner's 15 × 15 counted twice: 3 658.6 m², a little
     * less with 8 segments a quarter circle. */
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (json_array_get_string_element (row, 1), NULL), 3658.6, 15);
    g_assert_cmpfloat_with_epsilon (g_ascii_strtod (json_array_get_string_element (row, 2), NULL), 3658.6, 15);
    g_assert_cmpint (g_ascii_strtoll (json_array_get_string_element (row, 3), NULL, 10), >=, 5);
  }

  /* A break picked away from every pipe: a clear message. */
  away = cli ("network", "trace", f->project, "nuoc", "--isolate", "1402500,457500", NULL);
  g_assert_cmpint (away->status, ==, 1);
  assert_contains (away->err, "1402500,457500");

  /* Closing V1 for a work order is an undoable action. */
  close = cli ("network", "valve", f->project, "nuoc", "--valve", "van:1", "--state", "closed",
               "--work-order", "WO-7", NULL);
  g_assert_cmpint (close->status, ==, 0);
  closed = cli ("sql", f->project, "SELECT trang_thai FROM van WHERE fid = 1", NULL);
  assert_contains (closed->out, "đóng");
  undo = cli ("undo", f->project, NULL);
  g_assert_cmpint (undo->status, ==, 0);
  assert_contains (undo->out, "WO-7");
}

/* Publishes @payload on @topic of the broker at @port (user ops), QoS 1. */
static void
publish (int port, const char *topic, const char *payload)
{
  g_autofree char *port_text = g_strdup_printf ("%d", port);
  const char *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port_text, "-u", "ops", "-P", "s3cret",
                         "-q", "1", "-t", topic, "-m", payload, NULL };
  g_autoptr(Run) r = run_argv (NULL, argv);

  g_assert_cmpint (r->status, ==, 0);
}

/* The headless twin of the operations room against a real broker that
 * wants a password: sources and kinds defined from files, a first run
 * that makes the persistent session, messages sent while dothi-cli is
 * away (the broker keeps them), a second run that takes them with its
 * counts, then the readings and the incident workflow. */
static void
test_live (Fixture *f, gconstpointer data)
{
  g_autofree char *broker_dir = path_in (f, "broker");
  g_autofree char *pw = path_in (f, "broker/pw");
  g_autofree char *extra = NULL;
  g_autofree char *source = path_in (f, "nguon.json");
  g_autofree char *bad_source = path_in (f, "nguon-mat-khau.json");
  g_autofree char *kind = path_in (f, "ap-suat.json");
  g_autofree char *password = path_in (f, "mk.txt");
  g_autofree char *json = NULL;
  g_autofree char *fid_text = NULL;
  g_autofree char *reading = NULL;
  g_autofree char *later = NULL;
  g_autofree char *report = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(Run) refused = NULL;
  g_autoptr(Run) define = NULL;
  g_autoptr(Run) list = NULL;
  g_autoptr(Run) first = NULL;
  g_autoptr(Run) second = NULL;
  g_autoptr(Run) readings = NULL;
  g_autoptr(Run) incidents = NULL;
  g_autoptr(Run) assign = NULL;
  g_autoptr(Run) assigned = NULL;
  const char *passwd[] = { "mosquitto_passwd", "-c", "-b", pw, "ops", "s3cret", NULL };
  g_autoptr(Run) made = NULL;
  JsonObject *counts, *incident;
  int port;
  GPid broker;

  g_assert_cmpint (g_mkdir_with_parents (broker_dir, 0700), ==, 0);
  made = run_argv (NULL, passwd);
  g_assert_cmpint (made->status, ==, 0);
  extra = g_strdup_printf ("allow_anonymous false\npassword_file %s\npersistence false\n"
                           "max_queued_messages 0\n", pw);
  broker = dothi_test_broker_start (broker_dir, extra, &port);
  if (broker == 0)
    return;
  new_project (f);

  /* A password in the source is refused, naming it. */
  json = g_strdup_printf ("{\"name\": \"tram-ap-luc\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                          "\"port\": %d, \"username\": \"ops\", \"password\": \"s3cret\", "
                          "\"topics\": [\"dothi/#\"]}", port);
  g_assert_true (g_file_set_contents (bad_source, json, -1, NULL));
  refused = cli ("live", f->project, "--define-source", bad_source, NULL);
  g_assert_cmpint (refused->status, ==, 1);
  assert_contains (refused->err, "password");
  g_clear_pointer (&json, g_free);

  json = g_strdup_printf ("{\"name\": \"tram-ap-luc\", \"kind\": \"mqtt\", \"host\": \"127.0.0.1\", "
                          "\"port\": %d, \"username\": \"ops\", \"client_id\": \"dothi-cli-test\", "
                          "\"topics\": [\"dothi/readings/#\", \"dothi/incidents\"]}", port);
  g_assert_true (g_file_set_contents (source, json, -1, NULL));
  g_assert_true (g_file_set_contents (kind, "{\"kind\": \"pressure\", \"unit\": \"bar\", \"low\": 1.5, "
                                      "\"high\": 6.0, \"expected_interval\": 300, \"raw_days\": 30}", -1, NULL));
  g_assert_true (g_file_set_contents (password, "s3cret\n", -1, NULL));
  define = cli ("live", f->project, "--define-source", source, "--define-kind", kind, NULL);
  g_assert_cmpint (define->status, ==, 0);
  list = cli ("live", f->project, "--list", NULL);
  g_assert_cmpint (list->status, ==, 0);
  assert_contains (list->out, "tram-ap-luc");

  /* The first run makes the session and its subscriptions. */
  first = cli ("live", f->project, "--source", "tram-ap-luc", "--duration", "1s",
               "--password-file", password, NULL);
  g_assert_cmpint (first->status, ==, 0);
  assert_contains (first->err, "connected");
  assert_contains (first->out, "0 received, 0 stored");

  /* While it is away: two readings, one of them twice, a message that is
   * not JSON, and a report. */
  {
    g_autoptr(GDateTime) before = g_date_time_add_minutes (now, -5);
    g_autofree char *t1 = g_date_time_format_iso8601 (before);
    g_autofree char *t2 = g_date_time_format_iso8601 (now);

    reading = g_strdup_printf ("{\"id\": \"r-1\", \"sensor_id\": \"AL-05\", \"time\": \"%s\", "
                               "\"value\": 3.25, \"unit\": \"bar\", \"kind\": \"pressure\"}", t1);
    later = g_strdup_printf ("{\"id\": \"r-2\", \"sensor_id\": \"AL-05\", \"time\": \"%s\", "
                             "\"value\": 7.5, \"unit\": \"bar\", \"kind\": \"pressure\"}", t2);
    report = g_strdup_printf ("{\"type\": \"incident\", \"id\": \"PA-2026-0042\", \"time\": \"%s\", "
                              "\"category\": \"vỡ ống\", \"description\": \"Nước chảy tràn mặt đường\", "
                              "\"position\": {\"lat\": 12.668, \"lon\": 108.038}, "
                              "\"reporter\": \"Nguyễn Văn A\"}", t2);
  }
  publish (port, "dothi/readings/AL-05", reading);
  publish (port, "dothi/readings/AL-05", later);
  publish (port, "dothi/readings/AL-05", reading);
  publish (port, "dothi/readings/AL-05", "{khong phai JSON");
  publish (port, "dothi/incidents", report);

  second = cli ("live", "--json", f->project, "--source", "tram-ap-luc", "--duration", "2s",
                "--password-file", password, NULL);
  g_assert_cmpint (second->status, ==, 0);
  root = parse_json (second->out);
  counts = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (counts, "received"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (counts, "stored"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (counts, "duplicates"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (counts, "malformed"), ==, 1);
  g_clear_pointer (&root, json_node_unref);

  readings = cli ("readings", f->project, "--sensor", "AL-05", "--since", "1h", NULL);
  g_assert_cmpint (readings->status, ==, 0);
  assert_contains (readings->out, "3.25");
  assert_contains (readings->out, "7.5");
  {
    g_auto(GStrv) lines = g_strsplit (g_strstrip (readings->out), "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 2);
  }

  incidents = cli ("incidents", "--json", f->project, NULL);
  g_assert_cmpint (incidents->status, ==, 0);
  root = parse_json (incidents->out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 1);
  incident = json_array_get_object_element (json_node_get_array (root), 0);
  g_assert_cmpstr (json_object_get_string_member (incident, "report_id"), ==, "PA-2026-0042");
  g_assert_cmpstr (json_object_get_string_member (incident, "status"), ==, "received");
  fid_text = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (incident, "fid"));
  g_clear_pointer (&root, json_node_unref);

  assign = cli ("incidents", f->project, "--set", fid_text, "--to", "assigned",
                "--unit", "Đội sửa chữa số 2", NULL);
  g_assert_cmpint (assign->status, ==, 0);
  assigned = cli ("incidents", "--json", f->project, "--status", "assigned", NULL);
  g_assert_cmpint (assigned->status, ==, 0);
  root = parse_json (assigned->out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_node_get_array (root), 0),
                                                  "unit"), ==, "Đội sửa chữa số 2");

  dothi_test_broker_stop (broker);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/cli/help", test_help);
  ADD ("/cli/usage-errors", test_usage_errors);
  ADD ("/cli/import-layers-info", test_import_layers_info);
  g_test_add_func ("/cli/new/list-zones", test_list_zones);
  ADD ("/cli/new/crs", test_new_crs);
  ADD ("/cli/import/preview", test_import_preview);
  ADD ("/cli/import/bad-input", test_import_bad_input);
  ADD ("/cli/check", test_check);
  ADD ("/cli/export", test_export);
  ADD ("/cli/i18n/vietnamese-errors", test_vietnamese_errors);
  ADD ("/cli/ogrinfo", test_ogrinfo);
  ADD ("/cli/spatialite", test_spatialite_shell);
  ADD ("/cli/demo", test_demo);
  ADD ("/cli/edit/undo-redo-audit", test_edit_undo_redo);
  ADD ("/cli/edit/errors", test_edit_errors);
  ADD ("/cli/check/topology", test_check_topology);
  ADD ("/cli/sql", test_sql);
  ADD ("/cli/query", test_query);
  ADD ("/cli/field-layer", test_field_layer);
  ADD ("/cli/network", test_network);
  ADD ("/cli/live", test_live);

  return g_test_run ();
}
