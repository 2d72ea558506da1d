{{- define "tradingsite.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tradingsite.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "tradingsite.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "tradingsite.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tradingsite.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tradingsite.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tradingsite.labels" -}}
{{ include "tradingsite.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tradingsite.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{- define "tradingsite.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "tradingsite.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{- define "tradingsite.namespace" -}}
{{ default (include "tradingsite.fullname" .) .Values.redisNamespace }}
{{- end -}}

{{- define "tradingsite.secretName" -}}
{{- if .Values.secrets.externalSecret.enabled -}}
{{ include "tradingsite.fullname" . }}-secrets
{{- else if .Values.secrets.existingSecret -}}
{{ .Values.secrets.existingSecret }}
{{- else -}}
{{ fail "secrets: set secrets.existingSecret to a Secret's name, or turn on secrets.externalSecret" }}
{{- end -}}
{{- end -}}

{{/* The settings every process shares: the values' env, and what the chart itself fixes. */}}
{{- define "tradingsite.config" -}}
{{- $fixed := dict "REDIS_NAMESPACE" (include "tradingsite.namespace" .) "HEARTBEAT_DIR" "/tmp/heartbeat" "METRICS_PORT" (toString .Values.metrics.port) "PROMETHEUS_MULTIPROC_DIR" "/tmp/prometheus" "METRICS_STATE" "false" "TRADINGSITE_DATA_DIR" "/var/lib/tradingsite" -}}
{{- if and .Values.ingress.enabled (not (hasKey .Values.env "ALLOWED_HOSTS")) }}
{{- $_ := set $fixed "ALLOWED_HOSTS" .Values.ingress.host }}
{{- end }}
{{- if and .Values.ingress.enabled (not (hasKey .Values.env "CSRF_TRUSTED_ORIGINS")) }}
{{- $_ := set $fixed "CSRF_TRUSTED_ORIGINS" (printf "https://%s" .Values.ingress.host) }}
{{- end }}
{{- range $name, $value := merge $fixed .Values.env }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "tradingsite.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tradingsite.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Writable folders on a read-only root: /tmp (heartbeats, uploads) and the data folder. */}}
{{- define "tradingsite.volumes" -}}
- name: tmp
  emptyDir: {}
- name: data
  emptyDir: {}
{{- end -}}

{{- define "tradingsite.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/tradingsite
{{- end -}}

{{/*
One long-running process as a Deployment. Takes a dict: root (the chart's context), component, command,
replicas, resources; optionally recreate (a singleton: the old pod stops before the new one starts),
http (the web's probes and port), heartbeat (the name its liveness file has), env (extra), nodeSelector,
tolerations, autoscaled (replicas left to an HPA).
*/}}
{{- define "tradingsite.deployment" -}}
{{- $root := .root -}}
{{- $fullname := include "tradingsite.fullname" $root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}-{{ .component }}
  labels:
    {{- include "tradingsite.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    {{- if .recreate }}
    type: Recreate
    {{- else }}
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
    {{- end }}
  selector:
    matchLabels:
      {{- include "tradingsite.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ .component }}
  template:
    metadata:
      labels:
        {{- include "tradingsite.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
      annotations:
        checksum/config: {{ include "tradingsite.config" $root | sha256sum }}
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "tradingsite.serviceAccountName" $root }}
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "tradingsite.podSecurity" $root | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (default $root.Values.nodeSelector .nodeSelector) }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (default $root.Values.tolerations .tolerations) }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if and $root.Values.topologySpread (not .recreate) }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "tradingsite.selectorLabels" $root | nindent 14 }}
              app.kubernetes.io/component: {{ .component }}
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "tradingsite.selectorLabels" $root | nindent 14 }}
              app.kubernetes.io/component: {{ .component }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "tradingsite.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          # A restarted container starts with empty metrics and heartbeat folders (the emptyDir outlives it).
          command: {{ toJson (concat (list "sh" "-c" "rm -rf /tmp/prometheus /tmp/heartbeat && exec \"$@\"" "--") .command) }}
          envFrom:
            - configMapRef:
                name: {{ $fullname }}-config
            - secretRef:
                name: {{ include "tradingsite.secretName" $root }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            {{- if .http }}
            - name: http
              containerPort: 8000
            {{- end }}
            - name: metrics
              containerPort: {{ $root.Values.metrics.port }}
          {{- if .http }}
          startupProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 5
            failureThreshold: 24
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- else }}
          startupProbe:
            exec:
              command: ["python", "/app/tradingsite/heartbeat.py", {{ .heartbeat | quote }}, "--max-age", "60"]
            periodSeconds: 10
            failureThreshold: 30
          livenessProbe:
            exec:
              command: ["python", "/app/tradingsite/heartbeat.py", {{ .heartbeat | quote }}, "--max-age", "60"]
            periodSeconds: 20
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            exec:
              command: ["python", "/app/tradingsite/heartbeat.py", {{ .heartbeat | quote }}, "--max-age", "60"]
            periodSeconds: 20
            timeoutSeconds: 5
          {{- end }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            {{- include "tradingsite.containerSecurity" $root | nindent 12 }}
          volumeMounts:
            {{- include "tradingsite.volumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "tradingsite.volumes" $root | nindent 8 }}
{{- end -}}
