/* dothi-feature-form.h: the form that edits one feature's attributes, a
 * field per row by type, with the layer's field domains (dothi-domain.h) or
 * the style's categories, required fields and inline errors; Save applies
 * one update action; Field Rules… edits the domains. */
#pragma once

#include <adwaita.h>
#include "dothi-project.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_FEATURE_FORM (dothi_feature_form_get_type ())
G_DECLARE_FINAL_TYPE (DothiFeatureForm, dothi_feature_form, DOTHI, FEATURE_FORM, AdwWindow)

/* A modal form over @parent for feature @fid of the layer of @info.
 * @names and @values (char*, NULL for a null value; the identify panel's
 * arrays) are the feature's current values; with @names NULL the form
 * reads them with a DothiFeatureList on this thread (one page of one row,
 * after the fid scan). The layer's stored field domains (read here with
 * dothi_domain_get_all() on @project's thread) decide: a required field is
 * marked and may not be emptied, a number field shows its range and a
 * changed value outside it is refused naming the field and the range, a
 * code list is a drop-down of codes with their labels. A field without a
 * stored code list whose layer @style (may be NULL) is categorised on it is
 * a drop-down of the style's values with their legend labels (“ODT — Đất ở
 * tại đô thị”). Only when the layer has no stored domain at all, a field is
 * required when it is the style's categorised field, or is named like a
 * parcel number (so_thua, sothua, so_hieu_thua, ma_thua, parcel_no,
 * parcel_id, parcel_number). Blob fields are shown, not edited.
 * Returns NULL with @error (naming the feature) when it cannot be read.
 * Signal "saved" (gint64 action_id): the change was applied (0 when
 * nothing had changed); the form then closes. */
GtkWidget  *dothi_feature_form_new (GtkWindow            *parent,
                                    DothiProject         *project,
                                    const DothiLayerInfo *info,
                                    DothiStyle           *style,
                                    gint64                fid,
                                    GPtrArray            *names,
                                    GPtrArray            *values,
                                    GError              **error);

gint64      dothi_feature_form_get_fid    (DothiFeatureForm *self);
const char *dothi_feature_form_get_layer  (DothiFeatureForm *self);

/* Types @text (NULL or "" for a null value) into @field's row, or picks
 * it in a drop-down; FALSE when there is no such editable field or the
 * drop-down has no such value. */
gboolean    dothi_feature_form_set_text   (DothiFeatureForm *self,
                                           const char       *field,
                                           const char       *text);
/* The value of @field as the form has it now (NULL for null); new. */
char       *dothi_feature_form_dup_text   (DothiFeatureForm *self,
                                           const char       *field);
gboolean    dothi_feature_form_get_required   (DothiFeatureForm *self,
                                               const char       *field);
gboolean    dothi_feature_form_get_has_domain (DothiFeatureForm *self,
                                               const char       *field);

/* Checks every field; the first bad one is DOTHI_ERROR_INVALID_DATA
 * naming the field, and is shown in the form. */
gboolean    dothi_feature_form_validate   (DothiFeatureForm *self,
                                           GError          **error);
/* What Save does: FALSE (the error shown) when a value is bad; otherwise
 * starts writing in a worker thread with its own connection and returns
 * TRUE; "saved" follows, or the core's error is shown in the form. */
gboolean    dothi_feature_form_save       (DothiFeatureForm *self);
/* TRUE while the save runs. */
gboolean    dothi_feature_form_get_busy   (DothiFeatureForm *self);
/* The error shown in the form, or NULL. */
const char *dothi_feature_form_get_error_message (DothiFeatureForm *self);

/* What Field Rules… does: presents the editor of the layer's field rules
 * (Required, Minimum, Maximum per field; each changed field is saved with
 * dothi_domain_set() as one action, then the form follows the new rules).
 * Returns the editor window (owned by GTK), or NULL on a read-only
 * project. Its widgets are named for tests: "required-FIELD" (GtkSwitch),
 * "min-FIELD" and "max-FIELD" (AdwEntryRow), "rules-save" (GtkButton). */
GtkWidget  *dothi_feature_form_open_rules (DothiFeatureForm *self);

G_END_DECLS
