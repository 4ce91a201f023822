// Command sbx-test-apiserver is a Kubernetes API server for sandbox's tests, built from the
// Kubernetes libraries Debian packages (k8s.io/apiserver, k8s.io/apiextensions-apiserver): the
// generic API server over etcd, serving core/v1 namespaces, configmaps, secrets, serviceaccounts,
// resourcequotas, limitranges, networking.k8s.io/v1 networkpolicies and CustomResourceDefinitions
// with their custom resources. Discovery (legacy and aggregated), server-side apply, managedFields,
// conflicts, watch, bookmarks, resourceVersion semantics and 410 Gone are the libraries' own.
//
// TLS on --bind-address:--secure-port (0: a free port, written to --port-file), x509 client
// certificates checked against --client-ca-file; users in the group system:masters may do
// anything, any other user is refused (403), a request without a certificate gets 401.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	extapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	extoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	extopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/compatibility"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/common"

	generatedopenapi "sbx-test-apiserver/openapi"
)

type options struct {
	etcdServers   string
	etcdPrefix    string
	bind          string
	port          int
	portFile      string
	certFile      string
	keyFile       string
	clientCAFile  string
	watchCache    bool
	cacheSizes    string
	compaction    time.Duration
	featureGates  string
	emulated      string
	finalizeEvery time.Duration
}

func main() {
	o := &options{}
	flag.StringVar(&o.etcdServers, "etcd-servers", "http://127.0.0.1:2379", "etcd URLs, comma-separated")
	flag.StringVar(&o.etcdPrefix, "etcd-prefix", "/registry", "etcd key prefix")
	flag.StringVar(&o.bind, "bind-address", "127.0.0.1", "address to serve on")
	flag.IntVar(&o.port, "secure-port", 0, "port to serve on (0: a free one)")
	flag.StringVar(&o.portFile, "port-file", "", "file to write the port into once listening")
	flag.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate (PEM)")
	flag.StringVar(&o.keyFile, "tls-private-key-file", "", "serving key (PEM)")
	flag.StringVar(&o.clientCAFile, "client-ca-file", "", "CA bundle that signs client certificates")
	flag.BoolVar(&o.watchCache, "watch-cache", true, "serve watches and lists through the watch cache, as kube-apiserver does")
	flag.StringVar(&o.cacheSizes, "watch-cache-sizes", "", "per-resource watch cache, as kube-apiserver's: RESOURCE[.GROUP]#0 serves RESOURCE straight from etcd")
	flag.DurationVar(&o.compaction, "etcd-compaction-interval", 5*time.Minute, "how often the server compacts etcd (0: never)")
	flag.StringVar(&o.featureGates, "feature-gates", "", "feature gates, e.g. AggregatedDiscoveryRemoveBetaType=false")
	flag.StringVar(&o.emulated, "emulated-version", "", "Kubernetes version to emulate, e.g. 1.33")
	flag.DurationVar(&o.finalizeEvery, "namespace-sync-period", 500*time.Millisecond, "how often Terminating namespaces are finalized")
	klog.InitFlags(nil)
	flag.Parse()
	if err := run(genericapiserver.SetupSignalContext(), o); err != nil {
		fmt.Fprintln(os.Stderr, "sbx-test-apiserver:", err)
		os.Exit(1)
	}
}

// run builds the server and serves until ctx ends.
func run(ctx context.Context, o *options) error {
	if o.certFile == "" || o.keyFile == "" || o.clientCAFile == "" {
		return fmt.Errorf("--tls-cert-file, --tls-private-key-file and --client-ca-file are required")
	}
	cfg, err := newConfig(o)
	if err != nil {
		return err
	}
	completed := cfg.Complete()
	// apiextensions-apiserver leaves /apis to kube-apiserver's aggregator; here it is its own.
	completed.GenericConfig.EnableDiscovery = true
	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	gs := server.GenericAPIServer
	if err := installGroups(gs, cfg.GenericConfig.RESTOptionsGetter); err != nil {
		return err
	}
	crdInformer := server.Informers.Apiextensions().V1().CustomResourceDefinitions().Informer()
	if err := watchCRDGroups(crdInformer, gs.DiscoveryGroupManager); err != nil {
		return err
	}
	if err := addHooks(gs, o); err != nil {
		return err
	}
	if o.portFile != "" {
		port := cfg.GenericConfig.SecureServing.Listener.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(o.portFile, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			return err
		}
	}
	return gs.PrepareRun().RunWithContext(ctx)
}

// installGroups serves the built-in groups on the apiextensions server.
func installGroups(gs *genericapiserver.GenericAPIServer, getter generic.RESTOptionsGetter) error {
	core, err := coreGroup(getter)
	if err != nil {
		return err
	}
	if err := gs.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, core); err != nil {
		return err
	}
	netpol, err := networkingGroup(getter)
	if err != nil {
		return err
	}
	return gs.InstallAPIGroup(netpol)
}

// addHooks starts the system namespaces and the namespace finalizer once the server serves.
func addHooks(gs *genericapiserver.GenericAPIServer, o *options) error {
	err := gs.AddPostStartHook("sbx-system-namespaces", func(hc genericapiserver.PostStartHookContext) error {
		client, err := kubernetes.NewForConfig(hc.LoopbackClientConfig)
		if err != nil {
			return err
		}
		return createSystemNamespaces(hc.Context, client)
	})
	if err != nil {
		return err
	}
	return gs.AddPostStartHook("sbx-namespace-finalizer", func(hc genericapiserver.PostStartHookContext) error {
		client, err := kubernetes.NewForConfig(hc.LoopbackClientConfig)
		if err != nil {
			return err
		}
		dyn, err := dynamic.NewForConfig(hc.LoopbackClientConfig)
		if err != nil {
			return err
		}
		f := &nsFinalizer{client: client, dyn: dyn}
		go f.run(hc.Context, o.finalizeEvery)
		return nil
	})
}

// newConfig returns the apiextensions server's configuration with serving, authentication,
// authorization, etcd storage, OpenAPI and admission set up.
func newConfig(o *options) (*extapiserver.Config, error) {
	if err := setVersion(o); err != nil {
		return nil, err
	}
	cfg := genericapiserver.NewRecommendedConfig(extapiserver.Codecs)
	cfg.EffectiveVersion = effectiveVersion
	cfg.PublicAddress = net.ParseIP(o.bind)
	cfg.MergedResourceConfig = extapiserver.DefaultAPIResourceConfigSource()
	cfg.MergedResourceConfig.EnableVersions(corev1.SchemeGroupVersion, networkingv1.SchemeGroupVersion)
	if err := serving(o, &cfg.Config); err != nil {
		return nil, err
	}
	crdGetter, err := etcdStorage(o, &cfg.Config)
	if err != nil {
		return nil, err
	}
	namer := openapinamer.NewDefinitionNamer(Scheme, extapiserver.Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(definitions, namer)
	cfg.OpenAPIConfig.Info.Title = "Kubernetes"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions, namer)
	cfg.OpenAPIV3Config.Info.Title = "Kubernetes"
	if err := admit(cfg); err != nil {
		return nil, err
	}
	return &extapiserver.Config{
		GenericConfig: cfg,
		ExtraConfig: extapiserver.ExtraConfig{
			CRDRESTOptionsGetter: crdGetter,
			MasterCount:          1,
			ServiceResolver:      noServices{},
			AuthResolverWrapper: webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil,
				cfg.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}, nil
}

var effectiveVersion = compatibility.DefaultBuildEffectiveVersion()

// setVersion applies --emulated-version and --feature-gates.
func setVersion(o *options) error {
	if o.emulated != "" {
		v, err := utilversion.Parse(o.emulated)
		if err != nil {
			return fmt.Errorf("--emulated-version: %w", err)
		}
		effectiveVersion.SetEmulationVersion(v)
		if err := utilfeature.DefaultMutableFeatureGate.SetEmulationVersion(v); err != nil {
			return fmt.Errorf("--emulated-version: %w", err)
		}
	}
	if o.featureGates == "" {
		return nil
	}
	return utilfeature.DefaultMutableFeatureGate.Set(o.featureGates)
}

// serving sets up TLS, x509 client-certificate authentication and the system:masters authorizer.
func serving(o *options, cfg *genericapiserver.Config) error {
	s := genericoptions.NewSecureServingOptions().WithLoopback()
	s.BindAddress = net.ParseIP(o.bind)
	// Listen here: SecureServingOptions takes port 0 for "do not serve".
	ln, port, err := genericoptions.CreateListener("tcp", net.JoinHostPort(o.bind, fmt.Sprint(o.port)), net.ListenConfig{})
	if err != nil {
		return err
	}
	s.Listener, s.BindPort = ln, port
	s.ServerCert.CertKey = genericoptions.CertKey{CertFile: o.certFile, KeyFile: o.keyFile}
	if err := s.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		return err
	}
	pem, err := os.ReadFile(o.clientCAFile)
	if err != nil {
		return err
	}
	ca, err := dynamiccertificates.NewStaticCAContent("client-ca", pem)
	if err != nil {
		return err
	}
	cfg.SecureServing.ClientCA = ca
	cfg.Authentication.Authenticator = x509request.NewDynamic(ca.VerifyOptions, x509request.CommonNameUserConversion)
	cfg.Authorization.Authorizer = authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)
	genericapiserver.AuthorizeClientBearerToken(cfg.LoopbackClientConfig, &cfg.Authentication, &cfg.Authorization)
	return nil
}

// etcdStorage points the built-in resources and CRDs at etcd and returns the custom resources' getter.
func etcdStorage(o *options, cfg *genericapiserver.Config) (generic.RESTOptionsGetter, error) {
	codec := Codecs.LegacyCodec(corev1.SchemeGroupVersion, networkingv1.SchemeGroupVersion)
	etcd := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig(o.etcdPrefix, codec))
	etcd.StorageConfig.Transport.ServerList = strings.Split(o.etcdServers, ",")
	etcd.StorageConfig.CompactionInterval = o.compaction
	etcd.StorageConfig.StorageObjectCountTracker = cfg.StorageObjectCountTracker
	etcd.EnableWatchCache = o.watchCache
	if o.cacheSizes != "" {
		etcd.WatchCacheSizes = strings.Split(o.cacheSizes, ",")
	}
	crd := etcd.StorageConfig
	crd.Codec = extapiserver.Codecs.LegacyCodec(apiextensionsv1.SchemeGroupVersion)
	factory := &storageFactory{core: etcd.StorageConfig, crd: crd}
	if err := etcd.ApplyWithStorageFactoryTo(factory, cfg); err != nil {
		return nil, err
	}
	return extoptions.NewCRDRESTOptionsGetter(*etcd, cfg.ResourceTransformers, cfg.StorageObjectCountTracker), nil
}

// admit sets up the NamespaceLifecycle admission plugin (no object in a missing or Terminating
// namespace; default, kube-system and kube-public cannot be deleted) on a loopback informer.
func admit(cfg *genericapiserver.RecommendedConfig) error {
	client, err := kubernetes.NewForConfig(cfg.LoopbackClientConfig)
	if err != nil {
		return err
	}
	cfg.SharedInformerFactory = kubeinformers.NewSharedInformerFactory(client, 10*time.Minute)
	lc, err := lifecycle.NewLifecycle(sets.New(metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic))
	if err != nil {
		return err
	}
	lc.SetExternalKubeClientSet(client)
	lc.SetExternalKubeInformerFactory(cfg.SharedInformerFactory)
	if err := lc.ValidateInitialization(); err != nil {
		return err
	}
	cfg.AdmissionControl = admission.NewChainHandler(lc)
	return nil
}

// definitions merges the OpenAPI definitions of core/v1 and networking/v1 (generated at build
// time by Debian's openapi-gen) with apiextensions-apiserver's.
func definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := generatedopenapi.GetOpenAPIDefinitions(ref)
	for k, v := range extopenapi.GetOpenAPIDefinitions(ref) {
		if _, ok := defs[k]; !ok {
			defs[k] = v
		}
	}
	return defs
}

// storageFactory stores CRDs with apiextensions' codec and the built-in resources with ours, under
// the keys kube-apiserver uses (/registry/configmaps/..., /registry/GROUP/RESOURCE/...).
type storageFactory struct {
	core, crd storagebackend.Config
}

func (f *storageFactory) NewConfig(gr schema.GroupResource, example runtime.Object) (*storagebackend.ConfigForResource, error) {
	if gr.Group == apiextensionsv1.GroupName {
		return f.crd.ForResource(gr), nil
	}
	return f.core.ForResource(gr), nil
}

func (f *storageFactory) ResourcePrefix(gr schema.GroupResource) string {
	if gr.Group == "" {
		return gr.Resource
	}
	return gr.Group + "/" + gr.Resource
}

func (f *storageFactory) Configs() []storagebackend.Config  { return serverstorage.Configs(f.core) }
func (f *storageFactory) Backends() []serverstorage.Backend { return serverstorage.Backends(f.core) }

// noServices resolves no webhook service: this server serves no Services.
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("services are not served by this test server (webhook %s/%s:%d)", namespace, name, port)
}
