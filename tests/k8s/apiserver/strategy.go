package main

// One strategy type for every built-in resource: the create/update/delete rules of
// genericregistry.Store, with per-resource hooks for what differs.

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// strategy implements rest.RESTCreateStrategy, RESTUpdateStrategy, RESTDeleteStrategy and
// ResetFieldsStrategy.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	namespaced bool
	// nameFn validates metadata.name (DNS subdomain or DNS label).
	nameFn apivalidation.ValidateNameFunc
	// prepareCreate and prepareUpdate drop what the user may not set (status, on the main resource).
	prepareCreate func(obj runtime.Object)
	prepareUpdate func(obj, old runtime.Object)
	// validate checks the spec; validateUpdate checks what may not change.
	validate       func(obj runtime.Object) field.ErrorList
	validateUpdate func(obj, old runtime.Object) field.ErrorList
	// reset lists the fields this strategy resets (status on the main resource, the rest on /status).
	reset []fieldpath.Path
	// version is the API version the reset fields are written in.
	version string
}

// newStrategy returns a strategy with no hooks.
func newStrategy(namespaced bool, nameFn apivalidation.ValidateNameFunc, version string) *strategy {
	return &strategy{ObjectTyper: Scheme, NameGenerator: names.SimpleNameGenerator,
		namespaced: namespaced, nameFn: nameFn, version: version}
}

func (s *strategy) NamespaceScoped() bool { return s.namespaced }

func (s *strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if s.prepareCreate != nil {
		s.prepareCreate(obj)
	}
}

func (s *strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if s.prepareUpdate != nil {
		s.prepareUpdate(obj, old)
	}
}

func (s *strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	errs := apivalidation.ValidateObjectMetaAccessor(m, s.namespaced, s.nameFn, field.NewPath("metadata"))
	if s.validate != nil {
		errs = append(errs, s.validate(obj)...)
	}
	return errs
}

func (s *strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	o, err := meta.Accessor(old)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	errs := apivalidation.ValidateObjectMetaAccessorUpdate(m, o, field.NewPath("metadata"))
	if s.validate != nil {
		errs = append(errs, s.validate(obj)...)
	}
	if s.validateUpdate != nil {
		errs = append(errs, s.validateUpdate(obj, old)...)
	}
	return errs
}

func (s *strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string { return nil }

func (s *strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

func (s *strategy) Canonicalize(obj runtime.Object) {}

func (s *strategy) AllowCreateOnUpdate() bool { return false }

func (s *strategy) AllowUnconditionalUpdate() bool { return true }

func (s *strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if len(s.reset) == 0 {
		return nil
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{fieldpath.APIVersion(s.version): fieldpath.NewSet(s.reset...)}
}

// immutableUnchanged reports a 422 when an object marked immutable changes its data.
func immutableUnchanged(oldImmutable *bool, changed bool) field.ErrorList {
	if oldImmutable == nil || !*oldImmutable || !changed {
		return nil
	}
	return field.ErrorList{field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set")}
}

// keysValid checks the keys of a ConfigMap's or Secret's data.
func keysValid(path *field.Path, keys []string) field.ErrorList {
	var errs field.ErrorList
	for _, k := range keys {
		for _, msg := range utilvalidation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(path.Key(k), k, msg))
		}
	}
	return errs
}
