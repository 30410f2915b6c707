/* dothi-cli.c: the headless twin of the app, one subcommand per job, each a
 * thin layer over one core call (DESIGN.md §8). Exit status: 0 done, 1 bad
 * input or refused (project unchanged), 2 usage error, 3 internal error. */
#define G_LOG_DOMAIN "dothi-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <gio/gio.h>
#include <signal.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <gdal.h>
#include <ogr_api.h>
#include <cpl_conv.h>

#include "dothi-autocleanups.h"
#include "dothi-check.h"
#include "dothi-crs.h"
#include "dothi-demo-city.h"
#include "dothi-edit.h"
#include "dothi-encoding.h"
#include "dothi-epanet.h"
#include "dothi-error.h"
#include "dothi-export.h"
#include "dothi-expression.h"
#include "dothi-format.h"
#include "dothi-import.h"
#include "dothi-incident.h"
#include "dothi-live.h"
#include "dothi-map-transform.h"
#include "dothi-network.h"
#include "dothi-network-report.h"
#include "dothi-parcel.h"
#include "dothi-print.h"
#include "dothi-project.h"
#include "dothi-query.h"
#include "dothi-query-result.h"
#include "dothi-render-pool.h"
#include "dothi-sql-console.h"

enum {
  EXIT_DONE = 0,
  EXIT_BAD_INPUT = 1,
  EXIT_USAGE = 2,
  EXIT_INTERNAL = 3,
};

static gboolean opt_json = FALSE;
static GCancellable *cancellable = NULL;

/* ---- output helpers ---------------------------------------------------- */

static int
fail (GError *error)
{
  int status = EXIT_BAD_INPUT;

  if (error->domain == DOTHI_ERROR && error->code == DOTHI_ERROR_FAILED)
    status = EXIT_INTERNAL;
  /* Translators: prefix of every error message of the command-line tool */
  g_printerr (_("dothi-cli: error: %s\n"), error->message);
  return status;
}

static int
usage_error (GOptionContext *ctx, const char *message)
{
  g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);

  g_printerr (_("dothi-cli: error: %s\n"), message);
  g_printerr ("%s", help);
  return EXIT_USAGE;
}

/* One member of the object being built; NULL text becomes null. */
static void
json_set_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
json_set_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
json_set_double (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

static void
json_set_boolean (JsonBuilder *b, const char *name, gboolean value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

static void
print_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

/* A progress bar on a terminal, nothing when stderr is a file or pipe. */
static void
terminal_progress (double fraction, const char *stage, gpointer data)
{
  const int width = 30;

  if (!isatty (STDERR_FILENO))
    return;
  if (fraction < 0)
    g_printerr ("\r\033[K%s…", stage);
  else
    {
      int filled = (int) (fraction * width + 0.5);
      char bar[64];

      for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
      bar[width] = '\0';
      g_printerr ("\r\033[K[%s] %3d%% %s", bar, (int) (fraction * 100 + 0.5), stage);
    }
  if (fraction >= 1.0)
    g_printerr ("\n");
}

/* The jobs run synchronously on the main thread, which never iterates a
 * main loop, so signals are taken by a thread of their own: the first
 * Ctrl-C cancels the job (the project is left as it was), a second one
 * ends the program at once. */
static gpointer
watch_signals (gpointer data)
{
  sigset_t *set = data;
  int sig;

  if (sigwait (set, &sig) != 0)
    return NULL;
  g_cancellable_cancel (cancellable);
  if (sigwait (set, &sig) == 0)
    _exit (128 + sig);
  return NULL;
}

/* Pads to @width characters (printf pads bytes, and Vietnamese letters
 * take two or three). */
static char *
pad (const char *text, guint width)
{
  glong len = g_utf8_strlen (text ? text : "", -1);
  GString *s = g_string_new (text);

  for (glong i = len; i < (glong) width; i++)
    g_string_append_c (s, ' ');
  return g_string_free (s, FALSE);
}

static GOptionContext *
new_context (const char *parameter, const char *summary, const GOptionEntry *entries)
{
  GOptionContext *ctx = g_option_context_new (parameter);
  static const GOptionEntry common[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, N_("Machine-readable output (JSON) on standard output"), NULL },
    { NULL }
  };

  g_option_context_set_summary (ctx, summary);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (ctx, common, GETTEXT_PACKAGE);
  return ctx;
}

static gboolean
parse (GOptionContext *ctx, int *argc, char ***argv, int *status)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      *status = usage_error (ctx, error->message);
      return FALSE;
    }
  return TRUE;
}

static DothiProject *
open_project (const char *path, gboolean read_only, int *status)
{
  g_autoptr(GError) error = NULL;
  DothiProject *project = dothi_project_open (path, read_only ? DOTHI_PROJECT_OPEN_READ_ONLY
                                                               : DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (project == NULL)
    *status = fail (error);
  return project;
}

/* ---- new --------------------------------------------------------------- */

static int
cmd_new (int argc, char **argv)
{
  g_autofree char *crs = NULL;
  gboolean list_zones = FALSE;
  GOptionEntry entries[] = {
    { "crs", 0, 0, G_OPTION_ARG_STRING, &crs,
      N_("Project CRS: an EPSG code or a province name (default EPSG:9218, VN-2000 / TM-3 108°30′)"), N_("CRS") },
    { "list-zones", 0, 0, G_OPTION_ARG_NONE, &list_zones,
      N_("List the VN-2000 zone of each province and exit"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"), _("Creates an empty project file."), entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;

  if (list_zones)
    {
      guint n;
      const DothiVn2000Zone *zones = dothi_crs_vn2000_zones (&n);
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_array (b);
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *name = dothi_crs_dup_name (zones[i].srid);
          if (opt_json)
            {
              json_builder_begin_object (b);
              json_set_string (b, "province", zones[i].province);
              json_set_int (b, "srid", zones[i].srid);
              json_set_double (b, "central_meridian", zones[i].meridian);
              json_builder_end_object (b);
            }
          else
            g_print ("%-24s EPSG:%d  %s\n", zones[i].province, zones[i].srid, name ? name : "");
        }
      json_builder_end_array (b);
      if (opt_json)
        print_json (b);
      return EXIT_DONE;
    }

  if (argc != 2)
    return usage_error (ctx, _("Give the name of the project file to create"));

  project = dothi_project_create (argv[1], crs, &error);
  if (project == NULL)
    return fail (error);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_set_string (b, "path", dothi_project_get_path (project));
      json_set_string (b, "crs", dothi_project_get_crs (project));
      json_set_string (b, "uuid", dothi_project_get_uuid (project));
      json_builder_end_object (b);
      print_json (b);
    }
  else
    {
      g_autofree char *name = dothi_crs_dup_name (dothi_project_get_srid (project));
      /* Translators: file name, CRS code, CRS name */
      g_print (_("Created “%s” in %s (%s)\n"), argv[1], dothi_project_get_crs (project), name ? name : "");
    }
  return EXIT_DONE;
}

/* ---- import ------------------------------------------------------------ */

static void
print_previews (GPtrArray *previews)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint i = 0; i < previews->len; i++)
    {
      DothiImportPreview *pv = g_ptr_array_index (previews, i);

      if (opt_json)
        {
          json_builder_begin_object (b);
          json_set_string (b, "layer", pv->source_layer);
          json_set_string (b, "table", pv->table);
          json_set_string (b, "geometry", dothi_geometry_kind_to_string (pv->kind));
          json_set_int (b, "features", pv->feature_count);
          json_set_int (b, "source_srid", pv->source_srid);
          json_set_int (b, "target_srid", pv->target_srid);
          json_set_string (b, "encoding", pv->encoding);
          json_set_boolean (b, "encoding_detected", pv->encoding_detected);
          json_builder_set_member_name (b, "fields");
          json_builder_begin_array (b);
          for (guint k = 0; k < pv->fields->len; k++)
            {
              DothiImportFieldPreview *fp = g_ptr_array_index (pv->fields, k);
              json_builder_begin_object (b);
              json_set_string (b, "name", fp->name);
              json_set_string (b, "type", dothi_field_type_to_string (fp->type));
              json_builder_set_member_name (b, "samples");
              json_builder_begin_array (b);
              for (guint s = 0; s < fp->samples->len; s++)
                {
                  const char *v = g_ptr_array_index (fp->samples, s);
                  if (v)
                    json_builder_add_string_value (b, v);
                  else
                    json_builder_add_null_value (b);
                }
              json_builder_end_array (b);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
          continue;
        }

      /* Translators: source layer name, table name, geometry kind */
      g_print (_("Layer “%s” → table “%s” (%s)\n"), pv->source_layer, pv->table,
               dothi_geometry_kind_to_label (pv->kind));
      if (pv->feature_count >= 0)
        {
          g_autofree char *n = dothi_format_int64 (pv->feature_count);
          /* Translators: a feature count */
          g_print (_("  Features: %s\n"), n);
        }
      if (pv->kind != DOTHI_GEOMETRY_KIND_NONE)
        {
          if (pv->source_srid > 0)
            /* Translators: EPSG code, CRS name, EPSG code */
            g_print (_("  CRS: EPSG:%d %s → EPSG:%d\n"), pv->source_srid,
                     pv->source_crs ? pv->source_crs : "", pv->target_srid);
          else
            g_print (_("  CRS: none; give it with --src-crs\n"));
        }
      if (pv->encoding != NULL)
        {
          if (pv->encoding_detected)
            /* Translators: encoding name, a confidence percentage */
            g_print (_("  Text encoding: %s (detected, %.0f%% sure)\n"), pv->encoding, pv->confidence * 100);
          else
            g_print (_("  Text encoding: %s\n"), pv->encoding);
        }
      for (guint k = 0; k < pv->fields->len; k++)
        {
          DothiImportFieldPreview *fp = g_ptr_array_index (pv->fields, k);
          g_autoptr(GString) line = g_string_new (NULL);

          for (guint s = 0; s < fp->samples->len; s++)
            {
              const char *v = g_ptr_array_index (fp->samples, s);
              g_string_append_printf (line, "%s%s", s ? " | " : "", v ? v : "NULL");
            }
          g_print ("  %-20s %-8s %s\n", fp->name, dothi_field_type_to_string (fp->type), line->str);
        }
    }
  json_builder_end_array (b);
  if (opt_json)
    print_json (b);
}

static int
cmd_import (int argc, char **argv)
{
  g_auto(GStrv) layers = NULL;
  g_auto(GStrv) caps = NULL;
  g_autofree char *encoding = NULL;
  g_autofree char *src_crs = NULL;
  g_autofree char *name = NULL;
  gboolean preview = FALSE, make_valid = FALSE;
  GOptionEntry entries[] = {
    { "layer", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &layers, N_("Import only this layer (repeatable)"), N_("LAYER") },
    { "encoding", 'e', 0, G_OPTION_ARG_STRING, &encoding,
      N_("Text encoding: auto (default), UTF-8, CP1258, TCVN3, VNI or another code page"), N_("ENCODING") },
    { "tcvn3-caps", 0, 0, G_OPTION_ARG_STRING_ARRAY, &caps,
      N_("A field typed with TCVN3 capital-letter fonts (.VnTimeH); repeatable"), N_("FIELD") },
    { "src-crs", 's', 0, G_OPTION_ARG_STRING, &src_crs,
      N_("CRS of a source that has none (EPSG code or province)"), N_("CRS") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, N_("Title of the new layer (one layer only)"), N_("TITLE") },
    { "make-valid", 0, 0, G_OPTION_ARG_NONE, &make_valid, N_("Repair invalid geometries"), NULL },
    { "preview", 'p', 0, G_OPTION_ARG_NONE, &preview,
      N_("Show the layers and decoded sample values; write nothing"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi FILE"),
                                               _("Imports the layers of a GIS file into the project, in one step."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiImport) import = NULL;
  GPtrArray *reports;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 3)
    return usage_error (ctx, _("Give the project file and the file to import"));

  project = open_project (argv[1], preview, &status);
  if (project == NULL)
    return status;
  import = dothi_import_new (project, argv[2]);
  dothi_import_set_layers (import, (const char * const *) layers);
  dothi_import_set_encoding (import, encoding);
  dothi_import_set_caps_fields (import, (const char * const *) caps);
  dothi_import_set_source_crs (import, src_crs);
  dothi_import_set_make_valid (import, make_valid);
  dothi_import_set_target_name (import, name);

  if (preview)
    {
      g_autoptr(GPtrArray) previews = dothi_import_preview_sync (import, 5, &error);
      if (previews == NULL)
        return fail (error);
      print_previews (previews);
      return EXIT_DONE;
    }

  if (!dothi_import_run_sync (import, cancellable, terminal_progress, NULL, &error))
    {
      if (isatty (STDERR_FILENO))
        g_printerr ("\n");
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_printerr (_("dothi-cli: import cancelled; the project is unchanged\n"));
          return EXIT_BAD_INPUT;
        }
      return fail (error);
    }

  reports = dothi_import_get_reports (import);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint i = 0; i < reports->len; i++)
        {
          DothiImportReport *r = g_ptr_array_index (reports, i);
          json_builder_begin_object (b);
          json_set_string (b, "layer", r->source_layer);
          json_set_string (b, "table", r->table);
          json_set_string (b, "title", r->title);
          json_set_int (b, "features", r->n_features);
          json_set_int (b, "invalid", r->n_invalid);
          json_builder_set_member_name (b, "invalid_fids");
          json_builder_begin_array (b);
          for (guint k = 0; k < r->invalid_fids->len; k++)
            json_builder_add_int_value (b, g_array_index (r->invalid_fids, gint64, k));
          json_builder_end_array (b);
          json_set_int (b, "srid", r->srid);
          json_set_string (b, "operation", r->operation);
          json_set_string (b, "encoding", r->encoding);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      print_json (b);
      return EXIT_DONE;
    }

  for (guint i = 0; i < reports->len; i++)
    {
      DothiImportReport *r = g_ptr_array_index (reports, i);

      g_autofree char *n = dothi_format_int64 (r->n_features);

      /* Translators: a formatted count, a table name, an EPSG code */
      g_print (ngettext ("Imported %s feature into “%s” (EPSG:%d)\n",
                         "Imported %s features into “%s” (EPSG:%d)\n",
                         (gulong) r->n_features),
               n, r->table, r->srid);
      if (r->operation != NULL)
        /* Translators: a PROJ operation name */
        g_print (_("  Transformed with: %s\n"), r->operation);
      if (r->n_invalid > 0)
        {
          g_autoptr(GString) fids = g_string_new (NULL);
          for (guint k = 0; k < r->invalid_fids->len; k++)
            g_string_append_printf (fids, "%s%" G_GINT64_FORMAT, k ? ", " : "",
                                    g_array_index (r->invalid_fids, gint64, k));
          g_autofree char *bad = dothi_format_int64 (r->n_invalid);

          /* Translators: a formatted count, a list of feature ids, then
           * either ", repaired" or "; repair them with --make-valid" */
          g_print (ngettext ("  %s invalid geometry (source features %s)%s\n",
                             "  %s invalid geometries (source features %s)%s\n",
                             (gulong) r->n_invalid),
                   bad, fids->str,
                   make_valid ? _(", repaired") : _("; repair them with --make-valid"));
        }
    }
  return EXIT_DONE;
}

/* ---- layers / info ----------------------------------------------------- */

static void
add_layer_json (JsonBuilder *b, const DothiLayerInfo *info, gboolean with_fields)
{
  json_builder_begin_object (b);
  json_set_string (b, "name", info->name);
  json_set_string (b, "title", info->title);
  json_set_string (b, "geometry", dothi_geometry_kind_to_string (info->kind));
  json_set_int (b, "srid", info->srid);
  json_set_int (b, "features", info->feature_count);
  json_set_string (b, "source", info->source);
  json_set_string (b, "encoding", info->encoding);
  json_set_string (b, "operation", info->operation);
  json_builder_set_member_name (b, "extent");
  json_builder_begin_array (b);
  for (int i = 0; i < 4; i++)
    json_builder_add_double_value (b, info->extent[i]);
  json_builder_end_array (b);
  if (with_fields)
    {
      json_builder_set_member_name (b, "fields");
      json_builder_begin_array (b);
      for (guint k = 0; k < info->fields->len; k++)
        {
          const DothiField *f = g_ptr_array_index (info->fields, k);
          json_builder_begin_object (b);
          json_set_string (b, "name", f->name);
          json_set_string (b, "type", dothi_field_type_to_string (f->type));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
}

static int
cmd_layers (int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"), _("Lists the layers of a project."), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  project = open_project (argv[1], TRUE, &status);
  if (project == NULL)
    return status;
  layers = dothi_project_list_layers (project, &error);
  if (layers == NULL)
    return fail (error);

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint i = 0; i < layers->len; i++)
        add_layer_json (b, g_ptr_array_index (layers, i), FALSE);
      json_builder_end_array (b);
      print_json (b);
      return EXIT_DONE;
    }
  for (guint i = 0; i < layers->len; i++)
    {
      const DothiLayerInfo *info = g_ptr_array_index (layers, i);
      g_autofree char *n = dothi_format_int64 (info->feature_count);
      g_autofree char *title = pad (info->title, 28);
      g_autofree char *kind = pad (dothi_geometry_kind_to_label (info->kind), 16);

      g_print ("%-24s %s %s %12s  EPSG:%d\n", info->name, title, kind, n, info->srid);
    }
  return EXIT_DONE;
}

static int
cmd_info (int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi [LAYER]"),
                                               _("Describes a project, or one of its layers."), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2 && argc != 3)
    return usage_error (ctx, _("Give the project file and optionally a layer"));
  project = open_project (argv[1], TRUE, &status);
  if (project == NULL)
    return status;

  if (argc == 3)
    {
      g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (project, argv[2], &error);
      if (info == NULL)
        return fail (error);
      if (opt_json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          add_layer_json (b, info, TRUE);
          print_json (b);
          return EXIT_DONE;
        }
      g_print (_("Layer: %s (%s)\n"), info->title, info->name);
      g_print (_("Geometry: %s, EPSG:%d\n"), dothi_geometry_kind_to_label (info->kind), info->srid);
      {
        g_autofree char *n = dothi_format_int64 (info->feature_count);
        g_print (_("Features: %s\n"), n);
      }
      if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
        g_print (_("Extent: %.2f, %.2f – %.2f, %.2f\n"), info->extent[0], info->extent[1],
                 info->extent[2], info->extent[3]);
      if (info->source)
        g_print (_("Source: %s (%s)\n"), info->source, info->driver ? info->driver : "");
      if (info->encoding)
        g_print (_("Text encoding: %s\n"), info->encoding);
      if (info->operation)
        g_print (_("Transformed with: %s\n"), info->operation);
      g_print (_("Fields:\n"));
      for (guint k = 0; k < info->fields->len; k++)
        {
          const DothiField *f = g_ptr_array_index (info->fields, k);
          g_print ("  %-24s %s\n", f->name, dothi_field_type_to_string (f->type));
        }
      return EXIT_DONE;
    }

  {
    g_autoptr(GPtrArray) layers = dothi_project_list_layers (project, &error);
    g_autofree char *crs_name = dothi_crs_dup_name (dothi_project_get_srid (project));

    if (layers == NULL)
      return fail (error);
    if (opt_json)
      {
        g_autoptr(JsonBuilder) b = json_builder_new ();
        json_builder_begin_object (b);
        json_set_string (b, "path", dothi_project_get_path (project));
        json_set_string (b, "uuid", dothi_project_get_uuid (project));
        json_set_string (b, "crs", dothi_project_get_crs (project));
        json_set_int (b, "schema_version", dothi_project_get_schema_version (project));
        json_builder_set_member_name (b, "layers");
        json_builder_begin_array (b);
        for (guint i = 0; i < layers->len; i++)
          add_layer_json (b, g_ptr_array_index (layers, i), FALSE);
        json_builder_end_array (b);
        json_builder_end_object (b);
        print_json (b);
        return EXIT_DONE;
      }
    g_print (_("Project: %s\n"), dothi_project_get_path (project));
    g_print (_("CRS: %s (%s)\n"), dothi_project_get_crs (project), crs_name ? crs_name : "");
    g_print (_("Project version: %d\n"), dothi_project_get_schema_version (project));
    g_print (ngettext ("%u layer\n", "%u layers\n", layers->len), layers->len);
  }
  return EXIT_DONE;
}

/* ---- export ------------------------------------------------------------ */

static int
cmd_export (int argc, char **argv)
{
  g_auto(GStrv) layers = NULL;
  g_autofree char *output = NULL;
  g_autofree char *format = NULL;
  GOptionEntry entries[] = {
    { "layer", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &layers, N_("Export this layer (repeatable; default all)"), N_("LAYER") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("File to write"), N_("FILE") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      N_("gpkg, geojson, csv, shp, dxf, dgn or inp (EPANET) (default: from the file name)"), N_("FORMAT") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Writes layers to GeoPackage, GeoJSON, CSV, Shapefile, DXF or DGN v7."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2 || output == NULL)
    return usage_error (ctx, _("Give the project file and --output"));
  project = open_project (argv[1], TRUE, &status);
  if (project == NULL)
    return status;
  if ((format != NULL && (g_ascii_strcasecmp (format, "inp") == 0
                          || g_ascii_strcasecmp (format, "epanet") == 0))
      || (format == NULL && g_str_has_suffix (output, ".inp")))
    {
      /* An EPANET model from the layers an .inp import made (junctions,
       * reservoirs, tanks, pipes, pumps, valves), ids and attributes kept. */
      if (layers != NULL)
        return usage_error (ctx, _("An EPANET export takes the network's layers by their names: give no --layer"));
      if (!dothi_epanet_export (dothi_project_get_path (project), NULL, output, &error))
        return fail (error);
      g_print (_("Wrote “%s”\n"), output);
      return EXIT_DONE;
    }
  if (!dothi_export_sync (project, (const char * const *) layers, output, format, cancellable,
                          terminal_progress, NULL, &error))
    return fail (error);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_set_string (b, "path", output);
      json_set_string (b, "driver", dothi_export_driver_for (format, output));
      json_builder_end_object (b);
      print_json (b);
    }
  else
    g_print (_("Wrote “%s”\n"), output);
  return EXIT_DONE;
}

/* ---- render ------------------------------------------------------------ */

static gboolean
parse_extent (const char *text, double extent[4])
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  if (g_strv_length (parts) != 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      char *end = NULL;

      extent[i] = g_ascii_strtod (g_strstrip (parts[i]), &end);
      if (end == parts[i] || *end != '\0')
        return FALSE;
    }
  return extent[0] < extent[2] && extent[1] < extent[3];
}

static gboolean
parse_size (const char *text, int *width, int *height)
{
  char *end = NULL;
  gint64 w, h;

  w = g_ascii_strtoll (text, &end, 10);
  if (end == text || (*end != 'x' && *end != 'X'))
    return FALSE;
  text = end + 1;
  h = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || w < 1 || h < 1 || w > 20000 || h > 20000)
    return FALSE;
  *width = w;
  *height = h;
  return TRUE;
}

static int
cmd_render (int argc, char **argv)
{
  g_autofree char *extent_text = NULL;
  g_autofree char *layer_name = NULL;
  g_auto(GStrv) only = NULL;
  g_autofree char *size_text = NULL;
  g_autofree char *output = NULL;
  gboolean no_cache = FALSE, reference = FALSE, transparent = FALSE;
  GOptionEntry entries[] = {
    { "extent", 'e', 0, G_OPTION_ARG_STRING, &extent_text,
      N_("Area to draw, in the project CRS (default: every layer)"), N_("MINX,MINY,MAXX,MAXY") },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer_name, N_("Draw the extent of this layer"), N_("LAYER") },
    { "layers", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only,
      N_("Draw only these layers (repeatable or comma-separated; default every visible layer)"), N_("LAYER") },
    { "size", 's', 0, G_OPTION_ARG_STRING, &size_text, N_("Image size (default 1920x1080)"), N_("WxH") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("PNG file to write"), N_("FILE") },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache, N_("Neither read nor fill the map cache"), NULL },
    { "reference", 0, 0, G_OPTION_ARG_NONE, &reference,
      N_("Draw every feature, without level of detail or cache"), NULL },
    { "transparent", 0, 0, G_OPTION_ARG_NONE, &transparent, N_("Leave the background transparent"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Draws the map of a project to a PNG image, as the window does."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(DothiRenderPool) pool = NULL;
  g_autoptr(DothiMapTransform) transform = NULL;
  g_auto(GStrv) wanted = NULL;
  cairo_surface_t *image;
  cairo_surface_t *page;
  cairo_t *cr;
  double extent[4] = { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
  double merc[4];
  int width = 1920, height = 1080;
  int status = 0;
  gint64 start;
  double ms;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2 || output == NULL)
    return usage_error (ctx, _("Give the project file and --output"));
  if (size_text != NULL && !parse_size (size_text, &width, &height))
    return usage_error (ctx, _("--size must look like 1920x1080"));
  if (extent_text != NULL && !parse_extent (extent_text, extent))
    return usage_error (ctx, _("--extent must be four numbers MINX,MINY,MAXX,MAXY with MINX < MAXX and MINY < MAXY"));
  project = open_project (argv[1], TRUE, &status);
  if (project == NULL)
    return status;

  all = dothi_render_layers_for_project (project, &error);
  if (all == NULL)
    return fail (error);
  if (only != NULL)
    {
      g_autofree char *joined = g_strjoinv (",", only);
      wanted = g_strsplit (joined, ",", -1);
    }
  layers = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_render_layer_unref);
  for (guint i = 0; i < all->len; i++)
    {
      DothiRenderLayer *layer = all->pdata[i];

      if (wanted != NULL)
        {
          if (!g_strv_contains ((const char * const *) wanted, layer->name))
            continue;
          layer->visible = TRUE;
        }
      g_ptr_array_add (layers, dothi_render_layer_ref (layer));
    }
  for (guint i = 0; wanted != NULL && wanted[i] != NULL; i++)
    {
      g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (project, g_strstrip (wanted[i]), &error);
      if (info == NULL)
        return fail (error);
    }

  if (extent_text == NULL)
    {
      for (guint i = 0; i < layers->len; i++)
        {
          DothiRenderLayer *layer = layers->pdata[i];

          if (layer_name != NULL ? g_strcmp0 (layer->name, layer_name) != 0 : !layer->visible)
            continue;
          extent[0] = MIN (extent[0], layer->extent[0]);
          extent[1] = MIN (extent[1], layer->extent[1]);
          extent[2] = MAX (extent[2], layer->extent[2]);
          extent[3] = MAX (extent[3], layer->extent[3]);
        }
      if (layer_name != NULL && extent[0] > extent[2])
        {
          g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (project, layer_name, &error);
          if (info == NULL)
            return fail (error);
        }
      if (extent[0] > extent[2])
        {
          g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: project file */
                       _("“%s” has nothing to draw"), argv[1]);
          return fail (error);
        }
    }

  transform = dothi_map_transform_new (dothi_project_get_srid (project), &error);
  if (transform == NULL)
    return fail (error);
  if (!dothi_map_transform_bbox_to_mercator (transform, extent, merc))
    {
      g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   _("The extent is outside the area of the project’s CRS"));
      return fail (error);
    }

  pool = dothi_render_pool_new (dothi_project_get_path (project),
                                no_cache || reference ? NULL : dothi_project_get_uuid (project),
                                0, &error);
  if (pool == NULL)
    return fail (error);
  /* Like QGIS's loading of its layers, opening the render connections is
   * not part of the timed render. */
  dothi_render_pool_prepare (pool, layers, TRUE);
  start = g_get_monotonic_time ();
  image = dothi_render_pool_render_sync (pool, layers, merc, width, height,
                                         reference ? DOTHI_RENDER_REFERENCE : DOTHI_RENDER_DEFAULT,
                                         cancellable, &error);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  if (image == NULL)
    return fail (error);
  /* The cache is written behind the render; the numbers are read once
   * it is done. */
  dothi_render_pool_wait_cache (pool);

  page = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (page);
  if (!transparent)
    {
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
    }
  cairo_set_source_surface (cr, image, 0, 0);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_destroy (image);
  if (cairo_surface_write_to_png (page, output) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (page);
      g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: file name */
                   _("Cannot write “%s”"), output);
      return fail (error);
    }
  cairo_surface_destroy (page);

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_set_string (b, "path", output);
      json_set_int (b, "width", width);
      json_set_int (b, "height", height);
      json_set_double (b, "ms", ms);
      json_set_int (b, "blocks", dothi_render_pool_get_n_rendered (pool));
      json_set_int (b, "cache_hits", dothi_render_pool_get_n_cache_hits (pool));
      json_builder_end_object (b);
      print_json (b);
    }
  else
    /* Translators: file name, then milliseconds */
    g_print (_("Wrote “%s” (drawn in %.0f ms)\n"), output, ms);
  return EXIT_DONE;
}

/* ---- style ------------------------------------------------------------- */

static int
cmd_style (int argc, char **argv)
{
  g_autofree char *set = NULL;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_FILENAME, &set, N_("Store the style in this JSON file"), N_("FILE") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi LAYER"),
                                               _("Prints a layer’s style as JSON, or stores one."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiStyle) style = NULL;
  g_autofree char *json = NULL;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 3)
    return usage_error (ctx, _("Give the project file and a layer"));
  project = open_project (argv[1], set == NULL, &status);
  if (project == NULL)
    return status;
  if (set != NULL)
    {
      g_autofree char *text = NULL;

      if (!g_file_get_contents (set, &text, NULL, &error))
        return fail (error);
      style = dothi_style_new_from_json (text, argv[2], &error);
      if (style == NULL || !dothi_project_set_style (project, argv[2], style, &error))
        return fail (error);
      return EXIT_DONE;
    }
  style = dothi_project_dup_style (project, argv[2], &error);
  if (style == NULL)
    return fail (error);
  json = dothi_style_to_json (style);
  g_print ("%s\n", json);
  return EXIT_DONE;
}

/* ---- query ------------------------------------------------------------- */

/* Quotes a layer name for query text: "name", with " doubled. */
static void
append_quoted_layer (GString *text, const char *name)
{
  g_string_append_c (text, '"');
  for (const char *p = name; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (text, '"');
      g_string_append_c (text, *p);
    }
  g_string_append_c (text, '"');
}

/* Whether @where reads as a condition on @layer's fields. */
static gboolean
parses_on (DothiProject *project, const char *layer, const char *where)
{
  g_autoptr(DothiLayerInfo) info = dothi_project_get_layer (project, layer, NULL);
  g_autoptr(DothiExpression) expr = NULL;

  if (info == NULL)
    return FALSE;
  expr = dothi_expression_parse (where, info, NULL);
  return expr != NULL;
}

static guint
n_spatial_options (const char *a, const char *b, const char *c, const char *d,
                   const char *e, const char *f)
{
  return (a != NULL) + (b != NULL) + (c != NULL) + (d != NULL) + (e != NULL) + (f != NULL);
}

static void
print_summary (const DothiSummary *summary, DothiGeometryKind kind, const char *group_by)
{
  guint n = summary->groups->len;

  for (guint i = 0; i <= n; i++)
    {
      const DothiSummaryRow *row = i == 0 ? &summary->total
                                          : g_ptr_array_index (summary->groups, i - 1);
      g_autofree char *count = dothi_format_int64 (row->count);
      const char *key = i == 0 ? _("Total") : row->key != NULL ? row->key : _("(empty)");

      if (i == 0 && group_by != NULL)
        /* Translators: heading of the summary table; a field name */
        g_print (_("By %s:\n"), group_by);
      if (kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
        /* Translators: a summary row: group, count, area in square metres */
        g_print (_("  %-24s %12s  %16.1f m²\n"), key, count, row->area);
      else if (kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING)
        /* Translators: a summary row: group, count, length in metres */
        g_print (_("  %-24s %12s  %14.1f m\n"), key, count, row->length);
      else
        g_print ("  %-24s %12s\n", key, count);
    }
}

static void
print_plan (DothiQuery *query)
{
  const char *plan = dothi_query_get_plan (query);

  if (plan != NULL)
    g_printerr ("%s", plan);
}

static int
cmd_query (int argc, char **argv)
{
  g_autofree char *layer = NULL;
  g_autofree char *where = NULL;
  g_autofree char *other_where = NULL;
  g_autofree char *within_distance = NULL;
  g_autofree char *intersects = NULL;
  g_autofree char *contains = NULL;
  g_autofree char *within = NULL;
  g_autofree char *touches = NULL;
  g_autofree char *disjoint = NULL;
  g_autofree char *group_by = NULL;
  g_autofree char *out = NULL;
  g_autofree char *format = NULL;
  g_autofree char *save_layer = NULL;
  g_autofree char *save = NULL;
  g_autofree char *saved = NULL;
  gboolean explain = FALSE, count_only = FALSE, list_saved = FALSE;
  int limit = 100;
  GOptionEntry entries[] = {
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer, N_("The layer whose features are wanted"), N_("LAYER") },
    { "where", 'w', 0, G_OPTION_ARG_STRING, &where,
      N_("Condition, e.g. \"muc_dich = 'ODT' AND dien_tich > 500\" or \"within_distance(water_mains, 50, diameter_mm >= 300)\""), N_("EXPRESSION") },
    { "within-distance", 0, 0, G_OPTION_ARG_STRING, &within_distance,
      N_("Within this many metres of a feature of another layer"), N_("LAYER:METRES") },
    { "intersects", 0, 0, G_OPTION_ARG_STRING, &intersects, N_("Intersects a feature of another layer"), N_("LAYER") },
    { "contains", 0, 0, G_OPTION_ARG_STRING, &contains, N_("Contains a feature of another layer"), N_("LAYER") },
    { "within", 0, 0, G_OPTION_ARG_STRING, &within, N_("Lies within a feature of another layer"), N_("LAYER") },
    { "touches", 0, 0, G_OPTION_ARG_STRING, &touches, N_("Touches a feature of another layer"), N_("LAYER") },
    { "disjoint", 0, 0, G_OPTION_ARG_STRING, &disjoint, N_("Intersects no feature of another layer"), N_("LAYER") },
    { "other-where", 0, 0, G_OPTION_ARG_STRING, &other_where,
      N_("Which features of the other layer count, e.g. \"diameter_mm >= 300\""), N_("EXPRESSION") },
    { "explain", 0, 0, G_OPTION_ARG_NONE, &explain, N_("Print the plan the query ran with and its figures"), NULL },
    { "count", 0, 0, G_OPTION_ARG_NONE, &count_only, N_("Print only the number of features"), NULL },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Print at most this many feature ids (default 100)"), N_("N") },
    { "group-by", 'g', 0, G_OPTION_ARG_STRING, &group_by, N_("Sum count and area or length by this field"), N_("FIELD") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Write the features found to a new GeoPackage, GeoJSON or CSV file"), N_("FILE") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, N_("Format of --out: gpkg, geojson or csv (default: from the extension)"), N_("FORMAT") },
    { "save-layer", 0, 0, G_OPTION_ARG_STRING, &save_layer, N_("Copy the features found into a new layer of the project"), N_("NAME") },
    { "save", 0, 0, G_OPTION_ARG_STRING, &save, N_("Keep the query in the project under this name"), N_("NAME") },
    { "saved", 0, 0, G_OPTION_ARG_STRING, &saved, N_("Run the query saved under this name"), N_("NAME") },
    { "list-saved", 0, 0, G_OPTION_ARG_NONE, &list_saved, N_("List the queries saved in the project"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi [LAYER]"),
                                               _("Finds the features of a layer that meet attribute and spatial conditions."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiQuery) query = NULL;
  g_autoptr(DothiFidSet) fids = NULL;
  g_autoptr(DothiSummary) summary = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  const char *spatial_other = NULL;
  guint n_spatial = 0;
  int status = 0;
  struct { const char *arg; DothiSpatialPredicate predicate; } spatial[] = {
    { within_distance, DOTHI_SPATIAL_WITHIN_DISTANCE },
    { intersects, DOTHI_SPATIAL_INTERSECTS },
    { contains, DOTHI_SPATIAL_CONTAINS },
    { within, DOTHI_SPATIAL_WITHIN },
    { touches, DOTHI_SPATIAL_TOUCHES },
    { disjoint, DOTHI_SPATIAL_DISJOINT },
  };

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  /* parse() filled the option strings after the table was made. */
  spatial[0].arg = within_distance;
  spatial[1].arg = intersects;
  spatial[2].arg = contains;
  spatial[3].arg = within;
  spatial[4].arg = touches;
  spatial[5].arg = disjoint;

  if (argc == 3 && layer == NULL)
    layer = g_strdup (argv[2]);
  else if (argc != 2)
    return usage_error (ctx, _("Give the project file and the layer (--layer)"));
  if (limit < 0)
    return usage_error (ctx, _("--limit must not be negative"));
  project = open_project (argv[1], save_layer == NULL && save == NULL, &status);
  if (project == NULL)
    return status;

  if (list_saved)
    {
      g_autoptr(GPtrArray) list = dothi_saved_query_list (project, &error);

      if (list == NULL)
        return fail (error);
      for (guint i = 0; i < list->len; i++)
        {
          const DothiSavedQuery *q = g_ptr_array_index (list, i);
          g_print ("%s\t%s\t%s\n", q->name, q->layer, q->text);
        }
      return EXIT_DONE;
    }
  if (saved != NULL)
    {
      g_autoptr(DothiSavedQuery) q = NULL;

      if (where != NULL || n_spatial_options (within_distance, intersects, contains, within,
                                              touches, disjoint) > 0)
        return usage_error (ctx, _("--saved runs a stored query: give no other condition"));
      q = dothi_saved_query_get (project, saved, &error);
      if (q == NULL)
        return fail (error);
      if (layer == NULL)
        layer = g_strdup (q->layer);
      where = g_strdup (q->text);
    }
  if (layer == NULL)
    return usage_error (ctx, _("Give the layer to query with --layer"));
  info = dothi_project_get_layer (project, layer, &error);
  if (info == NULL)
    return fail (error);

  for (guint i = 0; i < G_N_ELEMENTS (spatial); i++)
    if (spatial[i].arg != NULL)
      {
        n_spatial++;
        spatial_other = spatial[i].arg;
      }
  if (other_where != NULL && n_spatial != 1)
    return usage_error (ctx, _("--other-where needs exactly one spatial condition"));

  /* "--within-distance water_mains:50 --where 'diameter_mm >= 300'": a
   * --where that only makes sense on the one other layer picks its
   * features, and says so. */
  if (where != NULL && other_where == NULL && n_spatial == 1
      && !parses_on (project, info->name, where))
    {
      g_autofree char *other = g_strdup (spatial_other);
      char *colon = strrchr (other, ':');

      if (within_distance != NULL && colon != NULL)
        *colon = '\0';
      if (parses_on (project, other, where))
        {
          /* Translators: a condition, a layer name */
          g_printerr (_("The condition “%s” names fields of “%s”: it picks which of its features count.\n"),
                      where, other);
          other_where = g_steal_pointer (&where);
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (spatial); i++)
    {
      g_autofree char *other = NULL;
      const char *metres = NULL;

      if (spatial[i].arg == NULL)
        continue;
      other = g_strdup (spatial[i].arg);
      if (spatial[i].predicate == DOTHI_SPATIAL_WITHIN_DISTANCE)
        {
          char *colon = strrchr (other, ':');
          char *end = NULL;

          if (colon == NULL)
            return usage_error (ctx, _("--within-distance takes LAYER:METRES, e.g. water_mains:50"));
          *colon = '\0';
          metres = colon + 1;
          g_ascii_strtod (metres, &end);
          if (end == metres || *end != '\0')
            {
              /* Translators: what was given */
              g_autofree char *message = g_strdup_printf (_("“%s” is not a distance in metres"),
                                                          metres);
              return usage_error (ctx, message);
            }
        }
      if (text->len > 0)
        g_string_append (text, " AND ");
      g_string_append_printf (text, "%s(", dothi_spatial_predicate_to_string (spatial[i].predicate));
      append_quoted_layer (text, other);
      if (metres != NULL)
        g_string_append_printf (text, ", %s", metres);
      if (other_where != NULL)
        g_string_append_printf (text, ", (%s)", other_where);
      g_string_append_c (text, ')');
    }
  if (where != NULL)
    {
      if (text->len > 0)
        g_string_append_printf (text, " AND (%s)", where);
      else
        g_string_append (text, where);
    }

  query = dothi_query_new (dothi_project_get_path (project), info->name, text->str, &error);
  if (query == NULL)
    return fail (error);
  fids = dothi_query_run (query, terminal_progress, NULL, cancellable, &error);
  if (fids == NULL)
    return fail (error);
  if (explain)
    {
      /* Translators: the query text */
      g_printerr (_("query: %s\n"), dothi_query_get_text (query)[0] ? dothi_query_get_text (query) : "*");
      print_plan (query);
    }

  if (group_by != NULL)
    {
      summary = dothi_query_summarize (dothi_project_get_path (project), info->name, fids,
                                       group_by, cancellable, &error);
      if (summary == NULL)
        return fail (error);
    }
  if (out != NULL
      && !dothi_query_export (dothi_project_get_path (project), info->name, fids, out, format,
                              cancellable, terminal_progress, NULL, &error))
    return fail (error);
  if (save_layer != NULL)
    {
      g_autofree char *table = NULL;

      if (dothi_query_save_layer (project, info->name, fids, save_layer, save_layer,
                                  &table, &error) == 0)
        return fail (error);
      /* Translators: a table name */
      g_printerr (_("New layer “%s”\n"), table);
    }
  if (save != NULL)
    {
      if (!dothi_saved_query_store (project, save, info->name, dothi_query_get_text (query),
                                    NULL, &error))
        return fail (error);
      /* Translators: a query name */
      g_printerr (_("Query “%s” saved in the project\n"), save);
    }

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      guint n;
      const gint64 *ids = dothi_fid_set_get_fids (fids, &n);

      json_builder_begin_object (b);
      json_set_string (b, "layer", info->name);
      json_set_string (b, "query", dothi_query_get_text (query));
      json_set_int (b, "count", n);
      if (!count_only)
        {
          json_builder_set_member_name (b, "fids");
          json_builder_begin_array (b);
          for (guint i = 0; i < n && (limit == 0 || i < (guint) limit); i++)
            json_builder_add_int_value (b, ids[i]);
          json_builder_end_array (b);
        }
      if (explain)
        json_set_string (b, "plan", dothi_query_get_plan (query));
      if (summary != NULL)
        {
          json_builder_set_member_name (b, "summary");
          json_builder_begin_array (b);
          for (guint i = 0; i <= summary->groups->len; i++)
            {
              const DothiSummaryRow *row = i == 0 ? &summary->total
                                                  : g_ptr_array_index (summary->groups, i - 1);
              json_builder_begin_object (b);
              if (i == 0)
                {
                  json_builder_set_member_name (b, "total");
                  json_builder_add_boolean_value (b, TRUE);
                }
              else
                {
                  json_builder_set_member_name (b, "group");
                  if (row->key != NULL)
                    json_builder_add_string_value (b, row->key);
                  else
                    json_builder_add_null_value (b);
                }
              json_set_int (b, "count", row->count);
              json_builder_set_member_name (b, "area_m2");
              json_builder_add_double_value (b, row->area);
              json_builder_set_member_name (b, "length_m");
              json_builder_add_double_value (b, row->length);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
      print_json (b);
      return EXIT_DONE;
    }
  {
    guint n;
    const gint64 *ids = dothi_fid_set_get_fids (fids, &n);
    g_autofree char *count = dothi_format_int64 (n);
    g_autoptr(GString) list = g_string_new (NULL);

    if (count_only)
      {
        g_print ("%u\n", n);
        return EXIT_DONE;
      }
    /* Translators: a formatted count, then a layer title */
    g_print (ngettext ("%s feature of “%s” meets the condition\n",
                       "%s features of “%s” meet the condition\n", (gulong) n),
             count, info->title ? info->title : info->name);
    if (summary != NULL)
      print_summary (summary, info->kind, group_by);
    else
      {
        for (guint i = 0; i < n && (limit == 0 || i < (guint) limit); i++)
          g_string_append_printf (list, "%s%" G_GINT64_FORMAT, i ? " " : "", ids[i]);
        if (list->len > 0)
          g_print ("%s\n", list->str);
      }
  }
  return EXIT_DONE;
}

/* ---- print ------------------------------------------------------------- */

static int
cmd_print (int argc, char **argv)
{
  g_autofree char *layout_name = NULL;
  g_autofree char *layout_file = NULL;
  g_autofree char *template_name = NULL;
  g_autofree char *page = NULL;
  g_autofree char *title = NULL;
  g_autofree char *atlas = NULL;
  g_autofree char *where = NULL;
  g_autofree char *format = NULL;
  g_autofree char *out = NULL;
  g_autofree char *extract = NULL;
  g_autofree char *save_layout = NULL;
  gboolean list = FALSE;
  double dpi = 0;
  GOptionEntry entries[] = {
    { "layout", 'l', 0, G_OPTION_ARG_STRING, &layout_name, N_("A layout stored in the project"), N_("NAME") },
    { "layout-file", 0, 0, G_OPTION_ARG_FILENAME, &layout_file, N_("A layout as a JSON file"), N_("FILE") },
    { "template", 't', 0, G_OPTION_ARG_STRING, &template_name, N_("A ready layout: planning, cadastral or handout"), N_("NAME") },
    { "page", 0, 0, G_OPTION_ARG_STRING, &page, N_("Page size of the template: A4, A3, A2, A1 or A0"), N_("SIZE") },
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, N_("Title of the template's map"), N_("TEXT") },
    { "atlas", 'a', 0, G_OPTION_ARG_STRING, &atlas, N_("One page per feature of this layer"), N_("LAYER") },
    { "where", 'w', 0, G_OPTION_ARG_STRING, &where, N_("Only the atlas features that meet this condition"), N_("EXPRESSION") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, N_("pdf, svg or png (default: from the extension)"), N_("FORMAT") },
    { "dpi", 0, 0, G_OPTION_ARG_DOUBLE, &dpi, N_("Resolution of PNG output (default 300) and of features too small to show at the scale (default 150)"), N_("DPI") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("The file to write"), N_("FILE") },
    { "extract", 0, 0, G_OPTION_ARG_STRING, &extract, N_("Print the parcel extract of this parcel"), N_("LAYER:FID") },
    { "save-layout", 0, 0, G_OPTION_ARG_STRING, &save_layout, N_("Store the layout in the project under this name"), N_("NAME") },
    { "list", 0, 0, G_OPTION_ARG_NONE, &list, N_("List the layouts stored in the project"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Prints a layout, an atlas or a parcel extract to PDF, SVG or PNG."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiLayout) layout = NULL;
  DothiPrintOptions options = { 0, };
  gint64 pages;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  project = open_project (argv[1], save_layout == NULL, &status);
  if (project == NULL)
    return status;

  if (list)
    {
      g_auto(GStrv) names = dothi_layout_list (project, &error);

      if (names == NULL)
        return fail (error);
      for (guint i = 0; names[i] != NULL; i++)
        g_print ("%s\n", names[i]);
      return EXIT_DONE;
    }
  if (out == NULL)
    return usage_error (ctx, _("Give the file to write with -o"));
  if (!dothi_print_format_for (format, out, &options.format))
    return usage_error (ctx, _("Give --format pdf, svg or png, or a file name ending in one"));
  options.dpi = dpi;

  if (extract != NULL)
    {
      g_autofree char *layer = g_strdup (extract);
      char *colon = strrchr (layer, ':');
      char *end = NULL;
      gint64 fid;

      if (colon == NULL)
        return usage_error (ctx, _("--extract takes LAYER:FID, e.g. parcels:123"));
      *colon = '\0';
      fid = g_ascii_strtoll (colon + 1, &end, 10);
      if (end == colon + 1 || *end != '\0')
        return usage_error (ctx, _("--extract takes LAYER:FID, e.g. parcels:123"));
      if (!dothi_print_parcel_extract (dothi_project_get_path (project), layer, fid, out,
                                       options.format, cancellable, &error))
        return fail (error);
      return EXIT_DONE;
    }

  if ((layout_name != NULL) + (layout_file != NULL) + (template_name != NULL) != 1)
    return usage_error (ctx, _("Give one of --layout, --layout-file and --template"));
  if (layout_name != NULL)
    layout = dothi_layout_load (project, layout_name, &error);
  else if (layout_file != NULL)
    {
      g_autofree char *json = NULL;

      if (!g_file_get_contents (layout_file, &json, NULL, &error))
        return fail (error);
      layout = dothi_layout_new_from_json (json, &error);
    }
  else
    layout = dothi_layout_new_template (project, template_name, page, title, &error);
  if (layout == NULL)
    return fail (error);
  if (save_layout != NULL)
    {
      JsonObject *root = dothi_layout_get_object (layout);

      json_object_set_string_member (root, "name", save_layout);
      if (!dothi_layout_store (project, layout, &error))
        return fail (error);
    }

  options.atlas_layer = atlas;
  options.atlas_where = where;
  pages = dothi_print_count_pages (dothi_project_get_path (project), layout, &options, &error);
  if (pages < 0)
    return fail (error);
  if (pages > 1)
    {
      g_autofree char *n = dothi_format_int64 (pages);
      /* Translators: a page count */
      g_printerr (ngettext ("Printing %s page…\n", "Printing %s pages…\n", (gulong) pages), n);
    }
  if (!dothi_print_sync (dothi_project_get_path (project), layout, &options, out, cancellable,
                         terminal_progress, NULL, &error))
    return fail (error);
  return EXIT_DONE;
}

/* ---- network ----------------------------------------------------------- */

/* A node named as LAYER:FID, as the id of its feature, or as "X,Y" (X
 * northing, Y easting, metres in the project CRS: the nearest node). */
static guint
find_network_node (DothiNetwork *network, const char *spec, GError **error)
{
  const char *colon = strrchr (spec, ':');
  const char *comma = strchr (spec, ',');
  guint n = dothi_network_get_n_nodes (network);

  if (colon != NULL && colon != spec)
    {
      g_autofree char *layer = g_strndup (spec, colon - spec);
      char *end = NULL;
      gint64 fid = g_ascii_strtoll (colon + 1, &end, 10);

      if (end != colon + 1 && *end == '\0')
        {
          guint node = dothi_network_find_node (network, layer, fid);

          if (node != G_MAXUINT)
            return node;
        }
    }
  if (comma != NULL)
    {
      char *end = NULL;
      double x = g_ascii_strtod (spec, &end);
      double y = end == comma ? g_ascii_strtod (comma + 1, &end) : NAN;

      if (end != NULL && *end == '\0' && isfinite (x) && isfinite (y))
        {
          double best = G_MAXDOUBLE;
          guint found = G_MAXUINT;

          for (guint i = 0; i < n; i++)
            {
              DothiNetworkNode node;
              double d;

              dothi_network_get_node (network, i, &node);
              /* X is the northing, Y the easting. */
              d = hypot (node.x - y, node.y - x);
              if (d < best)
                {
                  best = d;
                  found = i;
                }
            }
          if (found != G_MAXUINT)
            return found;
        }
    }
  for (guint i = 0; i < n; i++)
    {
      DothiNetworkNode node;

      dothi_network_get_node (network, i, &node);
      if (g_strcmp0 (node.id, spec) == 0)
        return i;
    }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: what was given */
               _("No node of the network is “%s”: give LAYER:FID, a node id or X,Y"), spec);
  return G_MAXUINT;
}

static void
print_trace_json (DothiNetwork *network, DothiTrace *trace, const char *kind)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  struct { const char *name; GArray *nodes; } node_sets[] = {
    { "valves_to_close", trace->valves_to_close }, { "valves_closed", trace->valves_closed },
    { "valves_seized", trace->valves_seized }, { "customers", trace->customers },
  };

  json_builder_begin_object (b);
  json_set_string (b, "trace", kind);
  json_set_int (b, "n_edges", trace->edges != NULL ? trace->edges->len : 0);
  json_set_int (b, "n_nodes", trace->nodes != NULL ? trace->nodes->len : 0);
  json_builder_set_member_name (b, "length_m");
  json_builder_add_double_value (b, trace->length);
  json_builder_set_member_name (b, "edges");
  json_builder_begin_array (b);
  for (guint i = 0; trace->edges != NULL && i < trace->edges->len; i++)
    {
      DothiNetworkEdge edge;

      dothi_network_get_edge (network, g_array_index (trace->edges, guint, i), &edge);
      json_builder_begin_object (b);
      json_set_string (b, "layer", edge.layer);
      json_set_int (b, "fid", edge.fid);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  for (guint s = 0; s < G_N_ELEMENTS (node_sets); s++)
    {
      if (node_sets[s].nodes == NULL)
        continue;
      json_builder_set_member_name (b, node_sets[s].name);
      json_builder_begin_array (b);
      for (guint i = 0; i < node_sets[s].nodes->len; i++)
        {
          DothiNetworkNode node;

          dothi_network_get_node (network, g_array_index (node_sets[s].nodes, guint, i), &node);
          json_builder_begin_object (b);
          json_set_string (b, "id", node.id);
          if (node.layer != NULL)
            {
              json_set_string (b, "layer", node.layer);
              json_set_int (b, "fid", node.fid);
            }
          if (node.kind != NULL)
            json_set_string (b, "kind", node.kind);
          json_builder_set_member_name (b, "x_northing");
          json_builder_add_double_value (b, node.y);
          json_builder_set_member_name (b, "y_easting");
          json_builder_add_double_value (b, node.x);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  if (trace->parcels != NULL)
    {
      json_builder_set_member_name (b, "parcels");
      json_builder_begin_array (b);
      for (guint i = 0; i < trace->parcels->len; i++)
        json_builder_add_int_value (b, g_array_index (trace->parcels, gint64, i));
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  print_json (b);
}

static void
print_node_list (DothiNetwork *network, const char *heading, GArray *nodes)
{
  g_autofree char *count = NULL;

  if (nodes == NULL || nodes->len == 0)
    return;
  count = dothi_format_int64 (nodes->len);
  g_print ("%s (%s):\n", heading, count);
  for (guint i = 0; i < nodes->len; i++)
    {
      DothiNetworkNode node;
      g_autofree char *x = NULL;
      g_autofree char *y = NULL;

      dothi_network_get_node (network, g_array_index (nodes, guint, i), &node);
      /* X northing, Y easting, as surveyors write them. */
      g_print ("  %-16s X %.2f  Y %.2f%s%s\n", node.id != NULL ? node.id : "", node.y, node.x,
               node.kind != NULL ? "  " : "", node.kind != NULL ? node.kind : "");
    }
}

static int
cmd_network (int argc, char **argv)
{
  g_autofree char *connected = NULL;
  g_autofree char *upstream = NULL;
  g_autofree char *downstream = NULL;
  g_autofree char *path_spec = NULL;
  g_autofree char *isolate = NULL;
  g_autofree char *seized = NULL;
  g_autofree char *out = NULL;
  g_autofree char *work_order = NULL;
  g_autofree char *pdf = NULL;
  g_autofree char *valve = NULL;
  g_autofree char *state_name = NULL;
  gboolean with_parcels = FALSE, save = FALSE, zones = FALSE;
  double width = 15;
  GOptionEntry entries[] = {
    { "zones", 0, 0, G_OPTION_ARG_NONE, &zones, N_("trace: the district metered areas bounded by valves"), NULL },
    { "connected", 0, 0, G_OPTION_ARG_STRING, &connected, N_("trace: everything connected to this node"), N_("NODE") },
    { "upstream", 0, 0, G_OPTION_ARG_STRING, &upstream, N_("trace: the network between this node and its sources"), N_("NODE") },
    { "downstream", 0, 0, G_OPTION_ARG_STRING, &downstream, N_("trace: the network fed through this node"), N_("NODE") },
    { "path", 0, 0, G_OPTION_ARG_STRING, &path_spec, N_("trace: the shortest path between two nodes"), N_("FROM;TO") },
    { "isolate", 0, 0, G_OPTION_ARG_STRING, &isolate, N_("trace: the valves to close for a break at X,Y (X northing, Y easting) or on pipe LAYER:FID"), N_("PLACE") },
    { "seized", 0, 0, G_OPTION_ARG_STRING, &seized, N_("Valves that will not turn, comma-separated LAYER:FID or ids"), N_("VALVES") },
    { "parcels", 0, 0, G_OPTION_ARG_NONE, &with_parcels, N_("Also list the parcels that lose service"), NULL },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Write the trace to a CSV or GeoJSON file (check: the problems as a GeoJSON point layer; --zones: the districts as GeoJSON polygons)"), N_("FILE") },
    { "width", 0, 0, G_OPTION_ARG_DOUBLE, &width, N_("--zones -o: metres drawn around each district's pipes (default 15)"), N_("METRES") },
    { "work-order", 0, 0, G_OPTION_ARG_STRING, &work_order, N_("Work order number (isolation PDF, valve changes)"), N_("NUMBER") },
    { "pdf", 0, 0, G_OPTION_ARG_FILENAME, &pdf, N_("Print the isolation's work order to this PDF"), N_("FILE") },
    { "valve", 0, 0, G_OPTION_ARG_STRING, &valve, N_("valve: the valve to change"), N_("LAYER:FID") },
    { "state", 0, 0, G_OPTION_ARG_STRING, &state_name, N_("valve: open, closed or seized"), N_("STATE") },
    { "save", 0, 0, G_OPTION_ARG_NONE, &save, N_("build: store the topology in the project"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("define|list|build|check|trace|valve PROJECT.dothi [NAME|FILE.json]"),
                                               _("Defines utility networks, builds their topology, checks it, traces it and operates valves."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiNetwork) network = NULL;
  g_autoptr(DothiTrace) trace = NULL;
  const char *verb, *kind = NULL;
  gint64 t0;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc < 3)
    return usage_error (ctx, _("Give what to do, the project file and the network"));
  verb = argv[1];
  project = open_project (argv[2], !(g_str_equal (verb, "define") || g_str_equal (verb, "valve")
                                     || (g_str_equal (verb, "build") && save)), &status);
  if (project == NULL)
    return status;

  if (g_str_equal (verb, "list"))
    {
      g_auto(GStrv) names = dothi_network_list (project, &error);

      if (names == NULL)
        return fail (error);
      for (guint i = 0; names[i] != NULL; i++)
        g_print ("%s\n", names[i]);
      return EXIT_DONE;
    }
  if (argc != 4)
    return usage_error (ctx, _("Give what to do, the project file and the network"));
  if (g_str_equal (verb, "define"))
    {
      g_autofree char *json = NULL;

      if (!g_file_get_contents (argv[3], &json, NULL, &error)
          || !dothi_network_define (project, json, &error))
        return fail (error);
      return EXIT_DONE;
    }
  if (g_str_equal (verb, "valve"))
    {
      g_autofree char *layer = NULL;
      DothiValveState state;
      gint64 fid, action;
      char *colon, *end = NULL;

      if (valve == NULL || state_name == NULL)
        return usage_error (ctx, _("valve needs --valve LAYER:FID and --state open|closed|seized"));
      layer = g_strdup (valve);
      colon = strrchr (layer, ':');
      if (colon == NULL)
        return usage_error (ctx, _("valve needs --valve LAYER:FID and --state open|closed|seized"));
      *colon = '\0';
      fid = g_ascii_strtoll (colon + 1, &end, 10);
      if (end == colon + 1 || *end != '\0')
        return usage_error (ctx, _("valve needs --valve LAYER:FID and --state open|closed|seized"));
      if (g_str_equal (state_name, "open"))
        state = DOTHI_VALVE_OPEN;
      else if (g_str_equal (state_name, "closed"))
        state = DOTHI_VALVE_CLOSED;
      else if (g_str_equal (state_name, "seized"))
        state = DOTHI_VALVE_SEIZED;
      else
        return usage_error (ctx, _("valve needs --valve LAYER:FID and --state open|closed|seized"));
      action = dothi_network_set_valve_state (project, argv[3], layer, fid, state, work_order,
                                              &error);
      if (action == 0)
        return fail (error);
      {
        g_autofree char *n = dothi_format_int64 (action);
        /* Translators: an action number */
        g_print (_("Recorded as action %s\n"), n);
      }
      return EXIT_DONE;
    }

  t0 = g_get_monotonic_time ();
  network = dothi_network_build (dothi_project_get_path (project), argv[3], cancellable, &error);
  if (network == NULL)
    return fail (error);
  if (g_str_equal (verb, "build"))
    {
      g_autofree char *nodes = dothi_format_int64 (dothi_network_get_n_nodes (network));
      g_autofree char *edges = dothi_format_int64 (dothi_network_get_n_edges (network));

      /* Translators: counts and milliseconds */
      g_print (_("%s nodes, %s edges in %.0f ms\n"), nodes, edges,
               (g_get_monotonic_time () - t0) / 1000.0);
      if (save && !dothi_network_save (network, project, &error))
        return fail (error);
      return EXIT_DONE;
    }
  if (g_str_equal (verb, "check"))
    {
      g_autoptr(GPtrArray) problems = dothi_network_check (network, &error);

      if (problems == NULL)
        return fail (error);
      if (opt_json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_array (b);
          for (guint i = 0; i < problems->len; i++)
            {
              DothiNetworkProblem *p = g_ptr_array_index (problems, i);

              json_builder_begin_object (b);
              json_set_int (b, "kind", p->kind);
              json_set_string (b, "message", p->message);
              json_builder_set_member_name (b, "x_northing");
              json_builder_add_double_value (b, p->y);
              json_builder_set_member_name (b, "y_easting");
              json_builder_add_double_value (b, p->x);
              if (p->layer != NULL)
                {
                  json_set_string (b, "layer", p->layer);
                  json_set_int (b, "fid", p->fid);
                }
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          print_json (b);
          return EXIT_DONE;
        }
      if (out != NULL)
        {
          /* The problems as a point layer to open beside the network. */
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonGenerator) gen = json_generator_new ();
          g_autoptr(JsonNode) root = NULL;
          g_autofree char *crs = g_strdup_printf ("EPSG:%d", dothi_project_get_srid (project));

          json_builder_begin_object (b);
          json_set_string (b, "type", "FeatureCollection");
          json_builder_set_member_name (b, "crs");
          json_builder_begin_object (b);
          json_set_string (b, "type", "name");
          json_builder_set_member_name (b, "properties");
          json_builder_begin_object (b);
          json_set_string (b, "name", crs);
          json_builder_end_object (b);
          json_builder_end_object (b);
          json_builder_set_member_name (b, "features");
          json_builder_begin_array (b);
          for (guint i = 0; i < problems->len; i++)
            {
              DothiNetworkProblem *p = g_ptr_array_index (problems, i);

              json_builder_begin_object (b);
              json_set_string (b, "type", "Feature");
              json_builder_set_member_name (b, "properties");
              json_builder_begin_object (b);
              json_set_int (b, "kind", p->kind);
              json_set_string (b, "message", p->message);
              if (p->layer != NULL)
                {
                  json_set_string (b, "layer", p->layer);
                  json_set_int (b, "fid", p->fid);
                }
              json_builder_end_object (b);
              json_builder_set_member_name (b, "geometry");
              json_builder_begin_object (b);
              json_set_string (b, "type", "Point");
              json_builder_set_member_name (b, "coordinates");
              json_builder_begin_array (b);
              json_builder_add_double_value (b, p->x);
              json_builder_add_double_value (b, p->y);
              json_builder_end_array (b);
              json_builder_end_object (b);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          json_generator_set_root (gen, root);
          if (!json_generator_to_file (gen, out, &error))
            return fail (error);
        }
      for (guint i = 0; i < problems->len; i++)
        g_print ("%s\n", ((DothiNetworkProblem *) g_ptr_array_index (problems, i))->message);
      {
        g_autofree char *n = dothi_format_int64 (problems->len);
        /* Translators: a count */
        g_print (ngettext ("%s problem\n", "%s problems\n", (gulong) problems->len), n);
      }
      return EXIT_DONE;
    }
  if (!g_str_equal (verb, "trace"))
    return usage_error (ctx, _("Give define, list, build, check, trace or valve"));

  t0 = g_get_monotonic_time ();
  if (zones)
    {
      g_autoptr(GPtrArray) list = dothi_network_valve_zones (network, &error);
      g_autoptr(JsonBuilder) b = NULL;

      if (list == NULL)
        return fail (error);
      if (opt_json)
        {
          b = json_builder_new ();
          json_builder_begin_array (b);
        }
      else
        {
          g_autofree char *n = dothi_format_int64 (list->len);
          /* Translators: a count */
          g_print (ngettext ("%s zone bounded by valves\n", "%s zones bounded by valves\n",
                             (gulong) list->len), n);
        }
      for (guint i = 0; i < list->len; i++)
        {
          DothiTrace *zone = g_ptr_array_index (list, i);
          g_autoptr(GString) valves = g_string_new (NULL);

          for (guint k = 0; k < zone->valves_to_close->len; k++)
            {
              DothiNetworkNode node;

              dothi_network_get_node (network, g_array_index (zone->valves_to_close, guint, k), &node);
              g_string_append_printf (valves, "%s%s", k > 0 ? " " : "", node.id);
            }
          if (b != NULL)
            {
              json_builder_begin_object (b);
              json_set_int (b, "zone", i + 1);
              json_set_int (b, "n_edges", zone->edges->len);
              json_builder_set_member_name (b, "length_m");
              json_builder_add_double_value (b, zone->length);
              json_set_int (b, "n_customers", zone->customers->len);
              json_set_string (b, "boundary_valves", valves->str);
              json_builder_end_object (b);
            }
          else
            /* Translators: zone number, pipe count, metres, customers, valve ids */
            g_print (_("  %u: %u pipes, %.1f m, %u customers; valves %s\n"), i + 1,
                     zone->edges->len, zone->length, zone->customers->len, valves->str);
        }
      if (b != NULL)
        {
          json_builder_end_array (b);
          print_json (b);
        }
      if (out != NULL)
        {
          if (!dothi_network_export_zones (dothi_project_get_path (project), network, list, width, out, &error))
            return fail (error);
          if (!opt_json)
            /* Translators: a file name */
            g_print (_("Districts written to “%s”\n"), out);
        }
      return EXIT_DONE;
    }
  if (connected != NULL || upstream != NULL || downstream != NULL)
    {
      const char *spec = connected != NULL ? connected : upstream != NULL ? upstream : downstream;
      guint node = find_network_node (network, spec, &error);

      if (node == G_MAXUINT)
        return fail (error);
      kind = connected != NULL ? "connected" : upstream != NULL ? "upstream" : "downstream";
      trace = connected != NULL ? dothi_network_trace_connected (network, node, &error)
              : upstream != NULL ? dothi_network_trace_upstream (network, node, &error)
              : dothi_network_trace_downstream (network, node, &error);
    }
  else if (path_spec != NULL)
    {
      g_auto(GStrv) ends = g_strsplit (path_spec, ";", 2);
      guint from, to;

      if (g_strv_length (ends) != 2)
        return usage_error (ctx, _("--path takes FROM;TO"));
      from = find_network_node (network, ends[0], &error);
      if (from == G_MAXUINT)
        return fail (error);
      to = find_network_node (network, ends[1], &error);
      if (to == G_MAXUINT)
        return fail (error);
      kind = "path";
      trace = dothi_network_shortest_path (network, from, to, &error);
    }
  else if (isolate != NULL)
    {
      g_autoptr(GArray) stuck = g_array_new (FALSE, FALSE, sizeof (guint));
      guint edge = G_MAXUINT;
      double position = 0;
      const char *colon = strrchr (isolate, ':');
      const char *comma = strchr (isolate, ',');

      if (comma != NULL)
        {
          char *end = NULL;
          double x = g_ascii_strtod (isolate, &end);
          double y = end == comma ? g_ascii_strtod (comma + 1, &end) : NAN;

          if (end == NULL || *end != '\0' || !isfinite (y))
            return usage_error (ctx, _("--isolate takes X,Y (X northing, Y easting) or LAYER:FID"));
          /* The break picked within 20 m of a pipe. */
          edge = dothi_network_nearest_edge (network, y, x, 20.0, &position);
        }
      else if (colon != NULL)
        {
          g_autofree char *layer = g_strndup (isolate, colon - isolate);
          gint64 fid = g_ascii_strtoll (colon + 1, NULL, 10);

          for (guint i = 0; i < dothi_network_get_n_edges (network) && edge == G_MAXUINT; i++)
            {
              DothiNetworkEdge e;

              dothi_network_get_edge (network, i, &e);
              if (e.fid == fid && g_strcmp0 (e.layer, layer) == 0)
                edge = i;
            }
        }
      if (edge == G_MAXUINT)
        {
          g_set_error (&error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                       /* Translators: what was given */
                       _("No pipe of the network is at “%s” (within 20 m)"), isolate);
          return fail (error);
        }
      if (seized != NULL)
        {
          g_auto(GStrv) names = g_strsplit (seized, ",", -1);

          for (guint i = 0; names[i] != NULL; i++)
            {
              guint node = find_network_node (network, g_strstrip (names[i]), &error);

              if (node == G_MAXUINT)
                return fail (error);
              g_array_append_val (stuck, node);
            }
        }
      kind = "isolate";
      trace = dothi_network_isolate (network, edge, (const guint *) stuck->data, stuck->len, &error);
      if (trace != NULL && with_parcels
          && !dothi_network_trace_parcels (network, trace, cancellable, &error))
        return fail (error);
      if (trace != NULL && pdf != NULL
          && !dothi_network_print_work_order (dothi_project_get_path (project), network, trace,
                                              edge, work_order, pdf, cancellable, &error))
        return fail (error);
    }
  else
    return usage_error (ctx, _("trace needs --connected, --upstream, --downstream, --path, --isolate or --zones"));
  if (trace == NULL)
    return fail (error);
  if (out != NULL && !dothi_network_export_trace (dothi_project_get_path (project), network, trace,
                                                  out, NULL, &error))
    return fail (error);

  if (opt_json)
    {
      print_trace_json (network, trace, kind);
      return EXIT_DONE;
    }
  {
    g_autofree char *edges = dothi_format_int64 (trace->edges != NULL ? trace->edges->len : 0);

    /* Translators: trace kind, edge count, metres, milliseconds */
    g_print (_("%s: %s edges, %.1f m, in %.2f ms\n"), kind, edges, trace->length,
             (g_get_monotonic_time () - t0) / 1000.0);
  }
  print_node_list (network, _("Valves to close"), trace->valves_to_close);
  print_node_list (network, _("Valves already closed"), trace->valves_closed);
  print_node_list (network, _("Seized valves passed"), trace->valves_seized);
  print_node_list (network, _("Customers to notify"), trace->customers);
  if (trace->parcels != NULL && with_parcels && isolate != NULL)
    {
      g_autofree char *n = dothi_format_int64 (trace->parcels->len);
      /* Translators: a count */
      g_print (_("Parcels that lose service: %s\n"), n);
    }
  return EXIT_DONE;
}

/* ---- live, incidents, readings ---------------------------------------- */

/* "60s", "5m", "2h", "1d" or a number of seconds; -1 when it is neither. */
static gint64
parse_seconds (const char *text)
{
  char *end = NULL;
  double n = g_ascii_strtod (text, &end);

  if (end == text || !(n >= 0))
    return -1;
  if (*end == '\0' || g_str_equal (end, "s"))
    return (gint64) n;
  if (g_str_equal (end, "m"))
    return (gint64) (n * 60);
  if (g_str_equal (end, "h"))
    return (gint64) (n * 3600);
  if (g_str_equal (end, "d"))
    return (gint64) (n * 86400);
  return -1;
}

/* An ISO 8601 time (an offset-less one in ICT) or a duration back from now. */
static gint64
parse_time (const char *text)
{
  g_autoptr(GTimeZone) ict = g_time_zone_new_identifier ("+07:00");
  g_autoptr(GDateTime) t = g_date_time_new_from_iso8601 (text, ict);
  gint64 back;

  if (t != NULL)
    return g_date_time_to_unix (t);
  back = parse_seconds (text);
  return back < 0 ? G_MININT64 : (gint64) (g_get_real_time () / G_USEC_PER_SEC) - back;
}

static char *
ict_text (gint64 unix_time)
{
  g_autoptr(GTimeZone) ict = g_time_zone_new_identifier ("+07:00");
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_time);
  g_autoptr(GDateTime) t = utc != NULL ? g_date_time_to_timezone (utc, ict) : NULL;

  return t != NULL ? g_date_time_format (t, "%d/%m/%Y %H:%M:%S") : g_strdup ("?");
}

static void
live_state_cb (DothiLive *live, const char *source, DothiLiveState state, const char *message,
               gpointer data)
{
  static const char *names[] = { N_("disconnected"), N_("connecting"), N_("connected"), N_("retrying") };

  /* Translators: a source name, its state, a message */
  g_printerr (_("%s: %s%s%s\n"), source, _(names[MIN ((guint) state, 3u)]),
              message != NULL && message[0] ? " — " : "", message != NULL ? message : "");
}

static gboolean
live_quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
live_cancelled_cb (GCancellable *c, gpointer loop)
{
  g_idle_add (live_quit_cb, loop);
}

static int
cmd_live (int argc, char **argv)
{
  g_autofree char *source = NULL;
  g_autofree char *duration_text = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *define_source = NULL;
  g_autofree char *define_kind = NULL;
  gboolean list = FALSE;
  int retention = 0;
  GOptionEntry entries[] = {
    { "source", 's', 0, G_OPTION_ARG_STRING, &source, N_("Ingest from this source"), N_("NAME") },
    { "duration", 'd', 0, G_OPTION_ARG_STRING, &duration_text, N_("Stop after this long, e.g. 60s or 5m (default: until Ctrl+C)"), N_("TIME") },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("Read the source's password from this file (where no keyring runs)"), N_("FILE") },
    { "define-source", 0, 0, G_OPTION_ARG_FILENAME, &define_source, N_("Define or replace a source from a JSON file"), N_("FILE") },
    { "define-kind", 0, 0, G_OPTION_ARG_FILENAME, &define_kind, N_("Define or replace a sensor kind and its thresholds from a JSON file"), N_("FILE") },
    { "list", 0, 0, G_OPTION_ARG_NONE, &list, N_("List the sources"), NULL },
    { "retention", 0, 0, G_OPTION_ARG_INT, &retention, N_("Keep raw readings this many days, older ones as hourly means"), N_("DAYS") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Ingests live sensor readings and incident reports from MQTT and HTTP sources."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiLive) live = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *password = NULL;
  DothiLiveStats stats;
  gint64 duration = 0;
  gulong cancel_id;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  project = open_project (argv[1], define_source == NULL && define_kind == NULL, &status);
  if (project == NULL)
    return status;

  if (define_source != NULL || define_kind != NULL)
    {
      g_autofree char *json = NULL;

      if (!g_file_get_contents (define_source != NULL ? define_source : define_kind, &json, NULL, &error)
          || !(define_source != NULL ? dothi_live_source_define (project, json, &error)
                                     : dothi_live_kind_define (project, json, &error)))
        return fail (error);
      return EXIT_DONE;
    }
  if (list)
    {
      g_auto(GStrv) names = dothi_live_source_list (project, &error);

      if (names == NULL)
        return fail (error);
      for (guint i = 0; names[i] != NULL; i++)
        g_print ("%s\n", names[i]);
      return EXIT_DONE;
    }
  if (retention > 0)
    {
      if (!dothi_live_apply_retention (dothi_project_get_path (project), retention, &error))
        return fail (error);
      return EXIT_DONE;
    }
  if (source == NULL)
    return usage_error (ctx, _("Give --source, --define-source, --define-kind, --list or --retention"));
  if (duration_text != NULL && (duration = parse_seconds (duration_text)) <= 0)
    return usage_error (ctx, _("--duration takes a time such as 60s, 5m or 2h"));
  if (password_file != NULL)
    {
      if (!g_file_get_contents (password_file, &password, NULL, &error))
        return fail (error);
      g_strchomp (password);
    }

  live = dothi_live_new (dothi_project_get_path (project), &error);
  if (live == NULL)
    return fail (error);
  g_signal_connect (live, "state-changed", G_CALLBACK (live_state_cb), NULL);
  if (!dothi_live_start (live, source, password, &error))
    return fail (error);
  loop = g_main_loop_new (NULL, FALSE);
  if (duration > 0)
    g_timeout_add_seconds ((guint) duration, live_quit_cb, loop);
  cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (live_cancelled_cb), loop, NULL);
  g_main_loop_run (loop);
  g_cancellable_disconnect (cancellable, cancel_id);
  dothi_live_stop (live);
  dothi_live_get_stats (live, &stats);

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(GHashTable) reasons = dothi_live_dup_rejections (live);
      GHashTableIter iter;
      gpointer key, value;

      json_builder_begin_object (b);
      json_set_int (b, "received", stats.received);
      json_set_int (b, "stored", stats.stored);
      json_set_int (b, "duplicates", stats.duplicates);
      json_set_int (b, "malformed", stats.malformed);
      json_set_int (b, "batches", stats.batches);
      json_builder_set_member_name (b, "rejections");
      json_builder_begin_object (b);
      g_hash_table_iter_init (&iter, reasons);
      while (g_hash_table_iter_next (&iter, &key, &value))
        json_set_int (b, key, GPOINTER_TO_INT (value));
      json_builder_end_object (b);
      json_builder_end_object (b);
      print_json (b);
      return EXIT_DONE;
    }
  {
    g_autofree char *r = dothi_format_int64 (stats.received);
    g_autofree char *s = dothi_format_int64 (stats.stored);
    g_autofree char *d = dothi_format_int64 (stats.duplicates);
    g_autofree char *m = dothi_format_int64 (stats.malformed);

    /* Translators: four counts */
    g_print (_("%s received, %s stored, %s duplicates, %s malformed\n"), r, s, d, m);
  }
  return EXIT_DONE;
}

static int
cmd_incidents (int argc, char **argv)
{
  g_autofree char *status_text = NULL;
  g_autofree char *to = NULL;
  g_autofree char *unit = NULL;
  g_autofree char *note = NULL;
  gint64 set_fid = 0, near_fid = 0;
  double radius = 200;
  GOptionEntry entries[] = {
    { "status", 0, 0, G_OPTION_ARG_STRING, &status_text, N_("Only incidents in this status: received, assigned, in_progress, resolved or published"), N_("STATUS") },
    { "set", 0, 0, G_OPTION_ARG_INT64, &set_fid, N_("Move this incident (fid) to the status given with --to"), N_("FID") },
    { "to", 0, 0, G_OPTION_ARG_STRING, &to, N_("The status to move to"), N_("STATUS") },
    { "unit", 0, 0, G_OPTION_ARG_STRING, &unit, N_("The unit assigned"), N_("UNIT") },
    { "note", 0, 0, G_OPTION_ARG_STRING, &note, N_("A note to add"), N_("TEXT") },
    { "near", 0, 0, G_OPTION_ARG_INT64, &near_fid, N_("List the assets near this incident (fid)"), N_("FID") },
    { "radius", 0, 0, G_OPTION_ARG_DOUBLE, &radius, N_("Metres around the incident for --near (default 200)"), N_("M") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Lists citizens' incident reports, moves them through their workflow and finds the assets near them."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GPtrArray) list = NULL;
  DothiIncidentStatus status = DOTHI_INCIDENT_RECEIVED;
  int exit_status = 0;

  if (!parse (ctx, &argc, &argv, &exit_status))
    return exit_status;
  if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  if (status_text != NULL && !dothi_incident_status_from_string (status_text, &status))
    return usage_error (ctx, _("A status is received, assigned, in_progress, resolved or published"));
  project = open_project (argv[1], set_fid == 0, &exit_status);
  if (project == NULL)
    return exit_status;

  if (set_fid != 0)
    {
      DothiIncidentStatus target;
      gint64 action;

      if (to == NULL || !dothi_incident_status_from_string (to, &target))
        return usage_error (ctx, _("A status is received, assigned, in_progress, resolved or published"));
      action = dothi_incident_set_status (project, set_fid, target, unit, note, &error);
      if (action == 0)
        return fail (error);
      {
        g_autofree char *n = dothi_format_int64 (action);
        g_print (_("Recorded as action %s\n"), n);
      }
      return EXIT_DONE;
    }
  if (near_fid != 0)
    {
      g_autoptr(GPtrArray) assets = dothi_incident_near_assets (dothi_project_get_path (project),
                                                                near_fid, radius, 5, &error);

      if (assets == NULL)
        return fail (error);
      for (guint i = 0; i < assets->len; i++)
        {
          DothiNearAsset *a = g_ptr_array_index (assets, i);
          g_print ("%-20s %-8" G_GINT64_FORMAT " %8.1f m  %s\n", a->layer, a->fid, a->distance,
                   a->label != NULL ? a->label : "");
        }
      return EXIT_DONE;
    }

  list = dothi_incident_list (dothi_project_get_path (project),
                              status_text != NULL ? (int) status : -1, &error);
  if (list == NULL)
    return fail (error);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_array (b);
      for (guint i = 0; i < list->len; i++)
        {
          DothiIncident *inc = g_ptr_array_index (list, i);

          json_builder_begin_object (b);
          json_set_int (b, "fid", inc->fid);
          json_set_string (b, "report_id", inc->report_id);
          json_set_string (b, "category", inc->category);
          json_set_string (b, "status", dothi_incident_status_to_string (inc->status));
          json_set_string (b, "received_at", inc->received_at);
          if (inc->unit != NULL)
            json_set_string (b, "unit", inc->unit);
          json_builder_set_member_name (b, "x_northing");
          json_builder_add_double_value (b, inc->y);
          json_builder_set_member_name (b, "y_easting");
          json_builder_add_double_value (b, inc->x);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      print_json (b);
      return EXIT_DONE;
    }
  for (guint i = 0; i < list->len; i++)
    {
      DothiIncident *inc = g_ptr_array_index (list, i);

      g_print ("%-6" G_GINT64_FORMAT " %-18s %-20s %-16s %s\n", inc->fid,
               inc->report_id != NULL ? inc->report_id : "", inc->received_at != NULL ? inc->received_at : "",
               dothi_incident_status_label (inc->status), inc->category != NULL ? inc->category : "");
    }
  return EXIT_DONE;
}

static int
cmd_readings (int argc, char **argv)
{
  g_autofree char *sensor = NULL;
  g_autofree char *since_text = NULL;
  g_autofree char *until_text = NULL;
  GOptionEntry entries[] = {
    { "sensor", 's', 0, G_OPTION_ARG_STRING, &sensor, N_("The sensor"), N_("ID") },
    { "since", 0, 0, G_OPTION_ARG_STRING, &since_text, N_("From this time (ISO 8601, ICT when no offset) or this long ago, e.g. 24h (default 24h)"), N_("TIME") },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until_text, N_("Until this time (default now)"), N_("TIME") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Prints a sensor's readings over a period, times in ICT."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) readings = NULL;
  gint64 since, until;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2 || sensor == NULL)
    return usage_error (ctx, _("Give the project file and --sensor"));
  since = parse_time (since_text != NULL ? since_text : "24h");
  until = until_text != NULL ? parse_time (until_text) : g_get_real_time () / G_USEC_PER_SEC + 1;
  if (since == G_MININT64 || until == G_MININT64)
    return usage_error (ctx, _("A time is ISO 8601 (2026-11-23T09:00) or a duration such as 24h"));
  readings = dothi_live_readings (argv[1], sensor, since, until, &error);
  if (readings == NULL)
    return fail (error);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_array (b);
      for (guint i = 0; i + 1 < readings->len; i += 2)
        {
          json_builder_begin_object (b);
          json_set_int (b, "time", (gint64) g_array_index (readings, double, i));
          json_builder_set_member_name (b, "value");
          json_builder_add_double_value (b, g_array_index (readings, double, i + 1));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      print_json (b);
      return EXIT_DONE;
    }
  for (guint i = 0; i + 1 < readings->len; i += 2)
    {
      g_autofree char *when = ict_text ((gint64) g_array_index (readings, double, i));
      g_print ("%s  %g\n", when, g_array_index (readings, double, i + 1));
    }
  return EXIT_DONE;
}

/* ---- sql --------------------------------------------------------------- */

static int
cmd_sql (int argc, char **argv)
{
  int max_rows = 1000;
  GOptionEntry entries[] = {
    { "max-rows", 'n', 0, G_OPTION_ARG_INT, &max_rows, N_("Print at most this many rows (default 1000)"), N_("N") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi SELECT…"),
                                               _("Runs one read-only SQL query (SpatiaLite functions allowed) on a connection that can change nothing."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiSqlConsole) console = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_auto(GStrv) columns = NULL;
  gboolean truncated;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 3)
    return usage_error (ctx, _("Give the project file and one query"));
  if (max_rows < 1)
    return usage_error (ctx, _("--max-rows must be at least 1"));
  console = dothi_sql_console_open (argv[1], &error);
  if (console == NULL)
    return fail (error);
  /* One row more than printed tells whether the result was cut. */
  rows = dothi_sql_console_run_sync (console, argv[2], max_rows + 1, &columns, cancellable, &error);
  if (rows == NULL)
    return fail (error);
  truncated = rows->len > (guint) max_rows;
  if (truncated)
    g_ptr_array_set_size (rows, max_rows);

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "columns");
      json_builder_begin_array (b);
      for (guint c = 0; columns && columns[c]; c++)
        json_builder_add_string_value (b, columns[c]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "rows");
      json_builder_begin_array (b);
      for (guint i = 0; i < rows->len; i++)
        {
          GPtrArray *row = g_ptr_array_index (rows, i);

          json_builder_begin_array (b);
          for (guint c = 0; c < row->len; c++)
            if (row->pdata[c] != NULL)
              json_builder_add_string_value (b, row->pdata[c]);
            else
              json_builder_add_null_value (b);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "truncated");
      json_builder_add_boolean_value (b, truncated);
      json_builder_end_object (b);
      print_json (b);
      return EXIT_DONE;
    }

  {
    g_autofree char *header = columns ? g_strjoinv ("\t", columns) : g_strdup ("");

    g_print ("%s\n", header);
  }
  for (guint i = 0; i < rows->len; i++)
    {
      GPtrArray *row = g_ptr_array_index (rows, i);
      g_autoptr(GString) line = g_string_new (NULL);

      for (guint c = 0; c < row->len; c++)
        {
          if (c > 0)
            g_string_append_c (line, '\t');
          g_string_append (line, row->pdata[c] ? (const char *) row->pdata[c] : "NULL");
        }
      g_print ("%s\n", line->str);
    }
  if (truncated)
    /* Translators: after a cut result; the number of rows printed */
    g_printerr (_("(only the first %d rows are shown)\n"), max_rows);
  return EXIT_DONE;
}

/* ---- check ------------------------------------------------------------- */

/* check --topology: overlaps and gaps of a parcel layer. */
static int
check_topology (DothiProject *project, const char *layer, double min_area)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) problems = NULL;

  problems = dothi_parcel_check_topology_sync (project, layer, NULL, min_area, cancellable, &error);
  if (problems == NULL)
    return fail (error);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_set_string (b, "layer", layer);
      json_builder_set_member_name (b, "problems");
      json_builder_begin_array (b);
      for (guint i = 0; i < problems->len; i++)
        {
          DothiTopologyProblem *p = g_ptr_array_index (problems, i);

          json_builder_begin_object (b);
          json_set_string (b, "kind", p->kind == DOTHI_TOPOLOGY_OVERLAP ? "overlap" : "gap");
          json_set_int (b, "fid_a", p->fid_a);
          json_set_int (b, "fid_b", p->fid_b);
          json_set_double (b, "area", p->area);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      print_json (b);
    }
  else
    {
      for (guint i = 0; i < problems->len; i++)
        {
          DothiTopologyProblem *p = g_ptr_array_index (problems, i);

          if (p->kind == DOTHI_TOPOLOGY_OVERLAP)
            /* Translators: two feature ids, then an area in m² */
            g_print (_("Parcels %lld and %lld overlap by %.1f m²\n"),
                     (long long) p->fid_a, (long long) p->fid_b, p->area);
          else
            /* Translators: an area in m², then a feature id */
            g_print (_("A gap of %.1f m² beside parcel %lld\n"), p->area, (long long) p->fid_a);
        }
      /* Translators: the number of overlaps and gaps found */
      g_print (ngettext ("%u topology problem\n", "%u topology problems\n", problems->len),
               problems->len);
    }
  return problems->len > 0 ? EXIT_BAD_INPUT : EXIT_DONE;
}

static int
cmd_check (int argc, char **argv)
{
  g_auto(GStrv) layers = NULL;
  g_autofree char *topology = NULL;
  double min_area = 0.1;
  GOptionEntry entries[] = {
    { "layer", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &layers, N_("Check this layer (repeatable; default all)"), N_("LAYER") },
    { "topology", 't', 0, G_OPTION_ARG_STRING, &topology,
      N_("Report overlaps and gaps between the parcels of this layer instead"), N_("LAYER") },
    { "min-area", 0, 0, G_OPTION_ARG_DOUBLE, &min_area,
      N_("Smallest overlap or gap reported, in m² (default 0.1)"), N_("M2") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Reports invalid geometries, or with --topology the overlaps and gaps of a parcel layer. Exit status 1 when there are any."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  gint64 checked = 0;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  project = open_project (argv[1], TRUE, &status);
  if (project == NULL)
    return status;
  if (topology != NULL)
    return check_topology (project, topology, min_area);
  problems = dothi_check_sync (project, (const char * const *) layers, &checked, cancellable, &error);
  if (problems == NULL)
    return fail (error);

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_set_int (b, "checked", checked);
      json_builder_set_member_name (b, "invalid");
      json_builder_begin_array (b);
      for (guint i = 0; i < problems->len; i++)
        {
          DothiCheckProblem *p = g_ptr_array_index (problems, i);
          json_builder_begin_object (b);
          json_set_string (b, "layer", p->layer);
          json_set_int (b, "fid", p->fid);
          json_set_string (b, "reason", p->reason);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      print_json (b);
    }
  else
    {
      for (guint i = 0; i < problems->len; i++)
        {
          DothiCheckProblem *p = g_ptr_array_index (problems, i);
          /* Translators: layer, feature id, reason */
          g_print (_("%s, feature %lld: %s\n"), p->layer, (long long) p->fid, p->reason);
        }
      g_autofree char *n = dothi_format_int64 (checked);
      /* Translators: a formatted count of geometries, then of invalid ones */
      g_print (ngettext ("%s geometry checked, %u invalid\n", "%s geometries checked, %u invalid\n",
                         (gulong) checked), n, problems->len);
    }
  return problems->len > 0 ? EXIT_BAD_INPUT : EXIT_DONE;
}

/* ---- edit / undo / redo / audit ---------------------------------------- */

static int
cmd_edit (int argc, char **argv)
{
  g_autofree char *changes = NULL;
  g_autofree char *layer = NULL;
  g_autofree char *label = NULL;
  GOptionEntry entries[] = {
    { "changes", 'c', 0, G_OPTION_ARG_FILENAME, &changes,
      N_("GeoJSON FeatureCollection of the changes (an “id” is a feature to update; "
         "“dothi:op” may say insert, update or delete)"), N_("FILE") },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer,
      N_("Layer of the features that name none (“dothi:layer”)"), N_("LAYER") },
    { "label", 0, 0, G_OPTION_ARG_STRING, &label, N_("Name of the action in the history"), N_("TEXT") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi [FILE.geojson]"),
                                               _("Applies a set of feature changes as one action that can be undone."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiChangeSet) set = NULL;
  g_autoptr(GArray) fids = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;
  guint counts[3] = { 0, 0, 0 };
  gint64 action, start;
  double ms;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  /* The changes may also follow the project, as the file of an import does. */
  if (argc == 3 && changes == NULL)
    changes = g_strdup (argv[2]);
  else if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  if (changes == NULL)
    return usage_error (ctx, _("Give the changes with --changes FILE"));
  if (!g_file_get_contents (changes, &text, &length, &error))
    {
      g_autoptr(GError) e = g_error_new (DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                                         /* Translators: file name, then the system's message */
                                         _("Cannot read “%s”: %s"), changes, error->message);
      return fail (e);
    }
  set = dothi_change_set_new_from_geojson (text, (gssize) length, layer, &error);
  if (set == NULL)
    {
      g_prefix_error (&error, "%s: ", changes);
      return fail (error);
    }
  project = open_project (argv[1], FALSE, &status);
  if (project == NULL)
    return status;

  start = g_get_monotonic_time ();
  action = dothi_edit_apply_sync (project, set, label, &fids, cancellable, terminal_progress, NULL, &error);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  if (action == 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_printerr (_("dothi-cli: edit cancelled; the project is unchanged\n"));
          return EXIT_BAD_INPUT;
        }
      return fail (error);
    }
  for (guint i = 0; i < dothi_change_set_get_n_changes (set); i++)
    counts[dothi_change_set_get_change (set, i)->op]++;

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_set_int (b, "action", action);
      json_set_double (b, "ms", ms);
      json_set_int (b, "inserted", counts[DOTHI_CHANGE_INSERT]);
      json_set_int (b, "updated", counts[DOTHI_CHANGE_UPDATE]);
      json_set_int (b, "deleted", counts[DOTHI_CHANGE_DELETE]);
      json_builder_set_member_name (b, "new_fids");
      json_builder_begin_array (b);
      for (guint i = 0; i < fids->len; i++)
        json_builder_add_int_value (b, g_array_index (fids, gint64, i));
      json_builder_end_array (b);
      json_builder_end_object (b);
      print_json (b);
      return EXIT_DONE;
    }
  /* Translators: an action number, then three counts */
  g_print (_("Saved as action %lld: %u inserted, %u updated, %u deleted\n"), (long long) action,
           counts[DOTHI_CHANGE_INSERT], counts[DOTHI_CHANGE_UPDATE], counts[DOTHI_CHANGE_DELETE]);
  if (fids->len > 0)
    {
      g_autoptr(GString) list = g_string_new (NULL);

      /* Runs of consecutive fids as ranges: a bulk insert is one line. */
      for (guint i = 0; i < fids->len;)
        {
          gint64 first = g_array_index (fids, gint64, i);
          guint j = i + 1;

          while (j < fids->len && g_array_index (fids, gint64, j) == g_array_index (fids, gint64, j - 1) + 1)
            j++;
          if (j - i > 2)
            g_string_append_printf (list, "%s%" G_GINT64_FORMAT "–%" G_GINT64_FORMAT, i ? ", " : "",
                                    first, g_array_index (fids, gint64, j - 1));
          else
            for (guint k = i; k < j; k++)
              g_string_append_printf (list, "%s%" G_GINT64_FORMAT, k ? ", " : "", g_array_index (fids, gint64, k));
          i = j;
        }
      /* Translators: a list of feature ids and ranges of them */
      g_print (_("  New features: %s\n"), list->str);
    }
  return EXIT_DONE;
}

/* undo and redo: one compensating action, then what it was. */
static int
run_undo_redo (int argc, char **argv, gboolean redo)
{
  g_autoptr(GOptionContext) ctx =
    new_context (N_("PROJECT.dothi"),
                 redo ? _("Does again the action undone last, as a new action in the history.")
                      : _("Undoes the last action as a new, compensating action in the history."),
                 NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GPtrArray) newest = NULL;
  DothiActionInfo *info;
  gint64 action, start;
  double ms;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  project = open_project (argv[1], FALSE, &status);
  if (project == NULL)
    return status;
  start = g_get_monotonic_time ();
  action = redo ? dothi_edit_redo_sync (project, cancellable, &error)
                : dothi_edit_undo_sync (project, cancellable, &error);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  if (action == 0)
    return fail (error);

  newest = dothi_audit_list_actions (project, 0, 1, &error);
  if (newest == NULL)
    return fail (error);
  info = newest->len > 0 ? newest->pdata[0] : NULL;
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_set_int (b, "action", action);
      json_set_double (b, "ms", ms);
      json_set_int (b, "undo_of", info ? info->undo_of : 0);
      json_set_string (b, "label", info ? info->label : NULL);
      json_set_int (b, "features", info ? info->n_features : 0);
      json_builder_end_object (b);
      print_json (b);
      return EXIT_DONE;
    }
  /* Translators: an action's label such as “Undo: Edit 3 features”, then its number */
  g_print (_("%s (action %lld)\n"), info ? info->label : "", (long long) action);
  return EXIT_DONE;
}

static int
cmd_undo (int argc, char **argv)
{
  return run_undo_redo (argc, argv, FALSE);
}

static int
cmd_redo (int argc, char **argv)
{
  return run_undo_redo (argc, argv, TRUE);
}

static char *
wkt_of (GBytes *wkb)
{
  g_auto(OGRGeometryH) geom = NULL;
  char *wkt = NULL;
  char *copy;
  gsize len;
  const guint8 *data;

  if (wkb == NULL)
    return NULL;
  data = g_bytes_get_data (wkb, &len);
  if (OGR_G_CreateFromWkbEx (data, NULL, &geom, len) != OGRERR_NONE
      || OGR_G_ExportToIsoWkt (geom, &wkt) != OGRERR_NONE)
    return NULL;
  copy = g_strdup (wkt);
  CPLFree (wkt);
  return copy;
}

static void
json_set_raw (JsonBuilder *b, const char *name, const char *json)
{
  JsonNode *node = json ? json_from_string (json, NULL) : NULL;

  json_builder_set_member_name (b, name);
  if (node != NULL)
    json_builder_add_value (b, node);
  else
    json_builder_add_null_value (b);
}

static int
print_feature_history (DothiProject *project, const char *spec, guint limit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *layer = NULL;
  const char *colon = strrchr (spec, ':');
  gint64 fid = 0;
  guint first;

  if (colon == NULL || colon == spec
      || !g_ascii_string_to_signed (colon + 1, 10, 1, G_MAXINT64, &fid, NULL))
    {
      g_printerr (_("dothi-cli: error: %s\n"),
                  /* Translators: what the user gave to --feature */
                  _("Give the feature as LAYER:FID, such as parcels:12"));
      return EXIT_USAGE;
    }
  layer = g_strndup (spec, colon - spec);
  events = dothi_audit_feature_history (project, layer, fid, &error);
  if (events == NULL)
    return fail (error);
  /* The newest @limit events, oldest first. */
  first = limit > 0 && events->len > limit ? events->len - limit : 0;

  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_array (b);
      for (guint i = first; i < events->len; i++)
        {
          DothiFeatureEvent *e = events->pdata[i];
          g_autofree char *before = wkt_of (e->before_wkb);
          g_autofree char *after = wkt_of (e->after_wkb);

          json_builder_begin_object (b);
          json_set_int (b, "audit_id", e->audit_id);
          json_set_int (b, "action", e->action_id);
          json_set_string (b, "time", e->time);
          json_set_string (b, "user", e->user);
          json_set_string (b, "op", e->op);
          json_set_raw (b, "before", e->before_attrs);
          json_set_raw (b, "after", e->after_attrs);
          json_set_string (b, "before_geometry", before);
          json_set_string (b, "after_geometry", after);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      print_json (b);
      return EXIT_DONE;
    }
  if (events->len == 0)
    /* Translators: feature id, layer name */
    g_print (_("Feature %lld of “%s” has no history\n"), (long long) fid, layer);
  for (guint i = first; i < events->len; i++)
    {
      DothiFeatureEvent *e = events->pdata[i];
      g_autofree char *user = pad (e->user, 12);

      if (e->action_id > 0)
        g_print ("%s  %s  %-7s  #%" G_GINT64_FORMAT "\n", e->time, user, e->op, e->action_id);
      else
        g_print ("%s  %s  %-7s\n", e->time, user, e->op);
      if (e->before_attrs != NULL)
        /* Translators: a feature's attributes as JSON, before a change */
        g_print (_("  before: %s\n"), e->before_attrs);
      if (e->after_attrs != NULL)
        /* Translators: a feature's attributes as JSON, after a change */
        g_print (_("  after:  %s\n"), e->after_attrs);
    }
  return EXIT_DONE;
}

static int
cmd_audit (int argc, char **argv)
{
  g_autofree char *feature = NULL;
  int limit = 20;
  GOptionEntry entries[] = {
    { "feature", 'f', 0, G_OPTION_ARG_STRING, &feature,
      N_("The history of one feature, given as LAYER:FID"), N_("LAYER:FID") },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show at most N entries, newest (default 20; 0 for all)"), N_("N") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("PROJECT.dothi"),
                                               _("Lists the project’s history of actions, newest first, or one feature’s history."),
                                               entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (ctx, _("Give the project file"));
  if (limit < 0)
    return usage_error (ctx, _("The limit cannot be negative"));
  project = open_project (argv[1], TRUE, &status);
  if (project == NULL)
    return status;
  if (feature != NULL)
    return print_feature_history (project, feature, (guint) limit);

  actions = dothi_audit_list_actions (project, 0, (guint) limit, &error);
  if (actions == NULL)
    return fail (error);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_array (b);
      for (guint i = 0; i < actions->len; i++)
        {
          DothiActionInfo *a = actions->pdata[i];

          json_builder_begin_object (b);
          json_set_int (b, "id", a->id);
          json_set_string (b, "time", a->time);
          json_set_string (b, "user", a->user);
          json_set_string (b, "label", a->label);
          json_set_int (b, "undo_of", a->undo_of);
          json_set_int (b, "features", a->n_features);
          json_builder_set_member_name (b, "layers");
          json_builder_begin_array (b);
          for (guint k = 0; a->layers && a->layers[k]; k++)
            json_builder_add_string_value (b, a->layers[k]);
          json_builder_end_array (b);
          json_set_boolean (b, "undone", a->undone);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      print_json (b);
      return EXIT_DONE;
    }
  for (guint i = 0; i < actions->len; i++)
    {
      DothiActionInfo *a = actions->pdata[i];
      g_autofree char *user = pad (a->user, 12);
      g_autofree char *layers = a->layers ? g_strjoinv (", ", a->layers) : g_strdup ("");
      g_autofree char *id = a->id > 0 ? g_strdup_printf ("#%" G_GINT64_FORMAT, a->id) : g_strdup ("–");
      g_autofree char *n = dothi_format_int64 (a->n_features);

      g_print ("%6s  %s  %s  %s", id, a->time, user, a->label);
      if (a->n_features > 0)
        /* Translators: a formatted count of changed rows, then layer names */
        g_print (ngettext (" (%s change in %s)", " (%s changes in %s)", a->n_features), n, layers);
      else if (layers[0] != '\0')
        g_print (" (%s)", layers);
      if (a->undone)
        /* Translators: after an action in the history that was undone */
        g_print ("%s", _(" [undone]"));
      g_print ("\n");
    }
  return EXIT_DONE;
}

/* ---- field and layer --------------------------------------------------- */

/* Prints the outcome of a layer or field action: its id, as JSON too. */
static int
print_action (gint64 action, const char *layer, const char *field, const char *text)
{
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_set_int (b, "action", action);
      json_set_string (b, "layer", layer);
      if (field != NULL)
        json_set_string (b, "field", field);
      json_builder_end_object (b);
      print_json (b);
      return EXIT_DONE;
    }
  /* Translators: what was done, then the action's number */
  g_print (_("%s (action %lld)\n"), text, (long long) action);
  return EXIT_DONE;
}

static int
cmd_field (int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx =
    new_context (N_("add PROJECT.dothi LAYER NAME TYPE | remove PROJECT.dothi LAYER NAME"),
                 _("Adds a field to a layer or removes one, as an action that can be undone. "
                   "TYPE is text, integer, real, date, datetime, boolean or blob. "
                   "A removed field’s values stay in the project until it is added back by undo."),
                 NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autofree char *text = NULL;
  gboolean add;
  gint64 action;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc < 2 || (g_strcmp0 (argv[1], "add") != 0 && g_strcmp0 (argv[1], "remove") != 0))
    return usage_error (ctx, _("Say “add” or “remove”"));
  add = g_str_equal (argv[1], "add");
  if (add && argc != 6)
    return usage_error (ctx, _("Give the project file, the layer, the field name and its type"));
  if (!add && argc != 5)
    return usage_error (ctx, _("Give the project file, the layer and the field name"));
  if (add)
    {
      DothiFieldType type = dothi_field_type_from_string (argv[5]);

      if (g_ascii_strcasecmp (dothi_field_type_to_string (type), argv[5]) != 0)
        {
          g_autofree char *msg =
            /* Translators: what the user typed as a field type */
            g_strdup_printf (_("Unknown field type “%s”; use text, integer, real, date, datetime, boolean or blob"),
                             argv[5]);
          return usage_error (ctx, msg);
        }
      project = open_project (argv[2], FALSE, &status);
      if (project == NULL)
        return status;
      action = dothi_project_add_field (project, argv[3], argv[4], type, &error);
      if (action == 0)
        return fail (error);
      /* Translators: field name, layer name */
      text = g_strdup_printf (_("Added field “%s” to layer “%s”"), argv[4], argv[3]);
    }
  else
    {
      project = open_project (argv[2], FALSE, &status);
      if (project == NULL)
        return status;
      action = dothi_project_remove_field (project, argv[3], argv[4], &error);
      if (action == 0)
        return fail (error);
      /* Translators: field name, layer name */
      text = g_strdup_printf (_("Removed field “%s” from layer “%s”"), argv[4], argv[3]);
    }
  return print_action (action, argv[3], argv[4], text);
}

static int
cmd_layer (int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx =
    new_context (N_("rename PROJECT.dothi LAYER TITLE"),
                 _("Gives a layer a new title (its table name stays), as an action that can be undone."),
                 NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiProject) project = NULL;
  g_autofree char *text = NULL;
  gint64 action;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc < 2 || g_strcmp0 (argv[1], "rename") != 0)
    return usage_error (ctx, _("Say “rename”"));
  if (argc != 5)
    return usage_error (ctx, _("Give the project file, the layer and its new title"));
  project = open_project (argv[2], FALSE, &status);
  if (project == NULL)
    return status;
  action = dothi_project_rename_layer (project, argv[3], argv[4], &error);
  if (action == 0)
    return fail (error);
  /* Translators: layer name, its new title */
  text = g_strdup_printf (_("Layer “%s” is now titled “%s”"), argv[3], argv[4]);
  return print_action (action, argv[3], NULL, text);
}

/* ---- demo -------------------------------------------------------------- */

static int
cmd_demo (int argc, char **argv)
{
  int parcels = 10000;
  int seed = 1;
  GOptionEntry entries[] = {
    { "parcels", 0, 0, G_OPTION_ARG_INT, &parcels, N_("Number of parcels (default 10 000)"), N_("N") },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, N_("Seed of the generator (default 1)"), N_("SEED") },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = new_context (N_("OUTPUT.gpkg"),
                                               _("Writes the demo city around Buôn Ma Thuột (EPSG:9218) as a GeoPackage."),
                                               entries);
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!parse (ctx, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (ctx, _("Give the GeoPackage file to write"));
  if (parcels <= 0)
    return usage_error (ctx, _("The number of parcels must be positive"));
  if (!dothi_demo_city_write (argv[1], (guint) parcels, (guint32) seed, terminal_progress, NULL,
                              cancellable, &error))
    return fail (error);
  if (opt_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_set_string (b, "path", argv[1]);
      json_set_int (b, "parcels", parcels);
      json_set_int (b, "seed", seed);
      json_builder_end_object (b);
      print_json (b);
    }
  else
    g_print (_("Wrote “%s”\n"), argv[1]);
  return EXIT_DONE;
}

/* ---- main -------------------------------------------------------------- */

static const struct {
  const char *name;
  int       (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "new", cmd_new, N_("Create a project (and list the VN-2000 zones)") },
  { "import", cmd_import, N_("Import a GIS file into a project") },
  { "layers", cmd_layers, N_("List a project's layers") },
  { "info", cmd_info, N_("Describe a project or a layer") },
  { "export", cmd_export, N_("Write layers to another format") },
  { "check", cmd_check, N_("Report invalid geometries") },
  { "demo", cmd_demo, N_("Write the demo city as a GeoPackage") },
  { "render", cmd_render, N_("Draw the map to a PNG image") },
  { "query", cmd_query, N_("Find the features that meet a condition") },
  { "sql", cmd_sql, N_("Run a read-only SQL query") },
  { "print", cmd_print, N_("Print a layout, an atlas or a parcel extract") },
  { "network", cmd_network, N_("Define, build, check and trace utility networks") },
  { "live", cmd_live, N_("Ingest live sensor readings and incident reports") },
  { "incidents", cmd_incidents, N_("List incident reports and move them through their workflow") },
  { "readings", cmd_readings, N_("Print a sensor's readings over a period") },
  { "style", cmd_style, N_("Print or set a layer’s style") },
  { "edit", cmd_edit, N_("Apply feature changes from a GeoJSON file") },
  { "undo", cmd_undo, N_("Undo the last action") },
  { "redo", cmd_redo, N_("Redo the action undone last") },
  { "audit", cmd_audit, N_("Show the history of actions or of a feature") },
  { "field", cmd_field, N_("Add or remove a field of a layer") },
  { "layer", cmd_layer, N_("Rename a layer (its title)") },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: dothi-cli COMMAND [OPTION…] [ARGUMENT…]"));
  fprintf (out, "%s\n", _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("“dothi-cli COMMAND --help” describes a command."));
}

int
main (int argc, char **argv)
{
  const char *localedir = g_getenv ("DOTHI_LOCALEDIR");
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }
  if (g_strcmp0 (argv[1], "--help") == 0 || g_strcmp0 (argv[1], "-h") == 0
      || g_strcmp0 (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return EXIT_DONE;
    }
  if (g_strcmp0 (argv[1], "--version") == 0)
    {
      g_print ("dothi-cli %s\n", PACKAGE_VERSION);
      return EXIT_DONE;
    }

  cancellable = g_cancellable_new ();
  {
    static sigset_t set;

    /* Blocked before any other thread exists, so every thread inherits it. */
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    g_thread_unref (g_thread_new ("dothi-signals", watch_signals, &set));
  }
  GDALAllRegister ();

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_strcmp0 (argv[1], commands[i].name) == 0)
      {
        g_autofree char *prgname = g_strdup_printf ("dothi-cli %s", commands[i].name);
        g_set_prgname (prgname);
        status = commands[i].run (argc - 1, argv + 1);
        g_clear_object (&cancellable);
        return status;
      }

  /* Translators: a command name the user typed */
  g_printerr (_("dothi-cli: error: unknown command “%s”\n"), argv[1]);
  print_usage (stderr);
  return EXIT_USAGE;
}
