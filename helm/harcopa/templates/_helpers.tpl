{{/*
Names, labels, images, security contexts, auth wiring and probes shared by every template.
*/}}

{{- define "harcopa.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The object-name prefix: <release>-harcopa, or the release name when it already says harcopa. */}}
{{- define "harcopa.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "harcopa.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of one component's objects: (dict "root" $ "component" "verifier"). */}}
{{- define "harcopa.componentName" -}}
{{- printf "%s-%s" (include "harcopa.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels (never the chart version): (dict "root" $ "component" "verifier"). */}}
{{- define "harcopa.selectorLabels" -}}
app.kubernetes.io/name: {{ include "harcopa.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of an object: (dict "root" $ "component" "verifier"). */}}
{{- define "harcopa.labels" -}}
helm.sh/chart: {{ include "harcopa.chart" .root }}
{{ include "harcopa.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: harcopa
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* An image reference: (dict "root" $ "image" .Values.verifier.image); the tag defaults to appVersion. */}}
{{- define "harcopa.image" -}}
{{- $registry := .root.Values.imageRegistry }}
{{- $repository := .image.repository }}
{{- if $registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository }}{{ end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repository .image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{/* Pod securityContext: the chart-wide one with a component's overrides: (dict "root" $ "values" .Values.verifier). */}}
{{- define "harcopa.podSecurityContext" -}}
{{- $context := mergeOverwrite (deepCopy .root.Values.podSecurityContext) (default (dict) .values.podSecurityContext) }}
{{- toYaml $context }}
{{- end }}

{{/* Container securityContext: the chart-wide one with a component's overrides. */}}
{{- define "harcopa.containerSecurityContext" -}}
{{- $context := mergeOverwrite (deepCopy .root.Values.containerSecurityContext) (default (dict) .values.containerSecurityContext) }}
{{- toYaml $context }}
{{- end }}

{{- define "harcopa.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* ---- auth: Secrets, mount points, environment ------------------------------------------ */}}

{{- define "harcopa.authSecretName" -}}
{{- default (printf "%s-auth" (include "harcopa.fullname" .)) .Values.auth.token.existingSecret }}
{{- end }}

{{/* A component's TLS Secret: (dict "root" $ "component" "verifier"); key "client" is the clients' one. */}}
{{- define "harcopa.tlsSecretName" -}}
{{- $configured := index .root.Values.auth.tls.secrets (.component | replace "model-server" "modelServer") }}
{{- default (printf "%s-%s-tls" (include "harcopa.fullname" .root) .component) $configured }}
{{- end }}

{{- define "harcopa.tokenFile" -}}/etc/harcopa/auth/token{{- end }}
{{- define "harcopa.tlsDir" -}}/etc/harcopa/tls{{- end }}
{{- define "harcopa.clientTlsDir" -}}/etc/harcopa/client-tls{{- end }}

{{/* Whether a pod needs the client certificate: clients always, servers for their probes under mTLS. */}}
{{- define "harcopa.needsClientTls" -}}
{{- if and .root.Values.auth.tls.enabled (or .client .root.Values.auth.tls.mutual) }}true{{ end }}
{{- end }}

{{/*
Server-side auth env of one service: (dict "root" $ "prefix" "HARCOPA_VERIFIER" "server" true "client" false).
*/}}
{{- define "harcopa.authEnv" -}}
{{- $auth := .root.Values.auth }}
{{- if .server }}
{{- if $auth.token.enabled }}
- name: {{ .prefix }}_AUTH_TOKEN_FILE
  value: {{ include "harcopa.tokenFile" . }}
{{- end }}
- name: {{ .prefix }}_METRICS_AUTH
  value: {{ and $auth.token.enabled $auth.metrics | quote }}
{{- if $auth.tls.enabled }}
- name: {{ .prefix }}_TLS__CERT_FILE
  value: {{ include "harcopa.tlsDir" . }}/tls.crt
- name: {{ .prefix }}_TLS__KEY_FILE
  value: {{ include "harcopa.tlsDir" . }}/tls.key
{{- if $auth.tls.mutual }}
- name: {{ .prefix }}_TLS__CLIENT_CA_FILE
  value: {{ include "harcopa.tlsDir" . }}/ca.crt
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Volumes for auth: (dict "root" $ "component" "verifier" "server" true "client" false). */}}
{{- define "harcopa.authVolumes" -}}
{{- $auth := .root.Values.auth }}
{{- if $auth.token.enabled }}
- name: auth-token
  secret:
    secretName: {{ include "harcopa.authSecretName" .root }}
    defaultMode: 0440
    items:
      - key: {{ $auth.token.key }}
        path: token
{{- end }}
{{- if and $auth.tls.enabled .server }}
- name: tls
  secret:
    secretName: {{ include "harcopa.tlsSecretName" . }}
    defaultMode: 0440
{{- end }}
{{- if include "harcopa.needsClientTls" . }}
- name: client-tls
  secret:
    secretName: {{ include "harcopa.tlsSecretName" (dict "root" .root "component" "client") }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{- define "harcopa.authVolumeMounts" -}}
{{- $auth := .root.Values.auth }}
{{- if $auth.token.enabled }}
- name: auth-token
  mountPath: /etc/harcopa/auth
  readOnly: true
{{- end }}
{{- if and $auth.tls.enabled .server }}
- name: tls
  mountPath: {{ include "harcopa.tlsDir" . }}
  readOnly: true
{{- end }}
{{- if include "harcopa.needsClientTls" . }}
- name: client-tls
  mountPath: {{ include "harcopa.clientTlsDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* Writable scratch space on a read-only root file system: /tmp and the home folder. */}}
{{- define "harcopa.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .values.scratchSizeLimit | default "2Gi" }}
- name: home
  emptyDir:
    sizeLimit: 1Gi
{{- end }}

{{- define "harcopa.scratchVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /home/harcopa
{{- end }}

{{/* Extra environment from a component's `env` map (name: value). */}}
{{- define "harcopa.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* A backend map as nested settings: (dict "prefix" "HARCOPA_MODEL" "backend" .Values.modelServer.backend). */}}
{{- define "harcopa.backendEnv" -}}
{{- $prefix := .prefix }}
{{- range $key, $value := .backend }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ printf "%s_BACKEND__%s" $prefix ($key | snakecase | upper) }}
  value: {{ if or (kindIs "map" $value) (kindIs "slice" $value) }}{{ toJson $value | quote }}{{ else }}{{ $value | toString | quote }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The three gRPC probes of a server: (dict "root" $ "values" .Values.verifier "service" "harcopa.v1.VerifierService"
"port" 50051 "serverName" "release-harcopa-verifier"). Startup and readiness ask for the service
name (SERVING once the backend has started), liveness for "" (the process answers). Kubelet
gRPC probes speak plaintext only, so with TLS the same checks run as `harcopa health` in the pod.
*/}}
{{- define "harcopa.probes" -}}
{{- $root := .root }}
{{- $tls := $root.Values.auth.tls }}
{{- range $kind := list "startupProbe" "readinessProbe" "livenessProbe" }}
{{- $service := ternary "" $.service (eq $kind "livenessProbe") }}
{{ $kind }}:
  {{- if $tls.enabled }}
  exec:
    command:
      - harcopa
      - health
      - --target=127.0.0.1:{{ $.port }}
      - --service={{ $service }}
      - --tls-ca={{ include "harcopa.tlsDir" $ }}/ca.crt
      - --server-name={{ $.serverName }}
      {{- if $tls.mutual }}
      - --tls-cert={{ include "harcopa.clientTlsDir" $ }}/tls.crt
      - --tls-key={{ include "harcopa.clientTlsDir" $ }}/tls.key
      {{- end }}
  {{- else }}
  grpc:
    port: {{ $.port }}
    service: {{ $service | quote }}
  {{- end }}
  {{- toYaml (index $.values $kind) | nindent 2 }}
{{- end }}
{{- end }}

{{/* The verifier's gRPC target as the orchestrator resolves it (every replica through DNS). */}}
{{- define "harcopa.verifierTarget" -}}
{{- if .Values.orchestrator.verifierTarget }}
{{- .Values.orchestrator.verifierTarget }}
{{- else }}
{{- printf "dns:///%s:%d" (include "harcopa.componentName" (dict "root" . "component" "verifier")) (int .Values.verifier.service.port) }}
{{- end }}
{{- end }}

{{/* The model name runs use when they name none. */}}
{{- define "harcopa.defaultModel" -}}
{{- if .Values.orchestrator.models.default }}
{{- .Values.orchestrator.models.default }}
{{- else if .Values.modelServer.enabled }}
{{- .Values.modelServer.modelName }}
{{- else }}
{{- keys .Values.orchestrator.models.extra | sortAlpha | first | default "" }}
{{- end }}
{{- end }}

{{- define "harcopa.orchestratorAddress" -}}
{{- printf "%s:%d" (include "harcopa.componentName" (dict "root" . "component" "orchestrator")) (int .Values.orchestrator.service.port) }}
{{- end }}

{{/* Client environment of the `harcopa` CLI (test hook): bearer token and TLS files. */}}
{{- define "harcopa.cliAuthEnv" -}}
{{- $auth := .Values.auth }}
{{- if $auth.token.enabled }}
- name: HARCOPA_CLIENT_TOKEN_FILE
  value: {{ include "harcopa.tokenFile" . }}
{{- end }}
{{- if $auth.tls.enabled }}
- name: HARCOPA_CLIENT_TLS__CA_FILE
  value: {{ include "harcopa.clientTlsDir" . }}/ca.crt
{{- if $auth.tls.mutual }}
- name: HARCOPA_CLIENT_TLS__CERT_FILE
  value: {{ include "harcopa.clientTlsDir" . }}/tls.crt
- name: HARCOPA_CLIENT_TLS__KEY_FILE
  value: {{ include "harcopa.clientTlsDir" . }}/tls.key
{{- end }}
{{- end }}
{{- end }}

{{- define "harcopa.orchestratorServiceAccount" -}}
{{- if .Values.orchestrator.serviceAccount.create }}
{{- default (include "harcopa.componentName" (dict "root" . "component" "orchestrator")) .Values.orchestrator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.orchestrator.serviceAccount.name }}
{{- end }}
{{- end }}
