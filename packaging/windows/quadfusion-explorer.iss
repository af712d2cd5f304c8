; Inno Setup 6 script for the Windows installer (build on Windows; see docs/packaging.md).
;   1. .venv\Scripts\pyinstaller --noconfirm pyinstaller.spec     -> dist\quadfusion-explorer\
;   2. "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" packaging\windows\quadfusion-explorer.iss
;   -> dist\quadfusion-explorer-0.1.0-setup.exe
; Run ISCC from the repository root or pass /DSourceRoot=<repo>.

#define AppName "QuadFusion Explorer"
#define AppVersion "0.1.0"
#ifndef SourceRoot
  #define SourceRoot "..\.."
#endif

[Setup]
AppId={{5B0E2D8C-3F41-4C8B-9A57-6E1D2C0F9A31}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=QuadFusion Explorer maintainers
DefaultDirName={autopf}\QuadFusion Explorer
DefaultGroupName={#AppName}
LicenseFile={#SourceRoot}\packaging\windows\LICENSE-NOTICE.txt
OutputDir={#SourceRoot}\dist
OutputBaseFilename=quadfusion-explorer-{#AppVersion}-setup
SetupIconFile={#SourceRoot}\resources\icons\quadfusion-explorer.ico
UninstallDisplayIcon={app}\qfx-explorer.exe
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; the bundle is several GB of already-compressed libraries: fast LZMA2 with a large dictionary
Compression=lzma2/fast
SolidCompression=no
DiskSpanning=no
PrivilegesRequiredOverridesAllowed=dialog
ChangesEnvironment=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the qfx command line to PATH"; Flags: unchecked

[Files]
Source: "{#SourceRoot}\dist\quadfusion-explorer\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\qfx-explorer.exe"; IconFilename: "{app}\qfx-explorer.exe"
Name: "{group}\Open the demo library"; Filename: "{app}\qfx-explorer.exe"; Parameters: """{app}\_internal\resources\demo"""
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\qfx-explorer.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))
; "Explore with QuadFusion Explorer" on folders in Explorer
Root: HKA; Subkey: "Software\Classes\Directory\shell\QuadFusionExplorer"; ValueType: string; ValueData: "Explore with {#AppName}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Directory\shell\QuadFusionExplorer"; ValueType: string; ValueName: "Icon"; ValueData: "{app}\qfx-explorer.exe"
Root: HKA; Subkey: "Software\Classes\Directory\shell\QuadFusionExplorer\command"; ValueType: string; ValueData: """{app}\qfx-explorer.exe"" ""%1"""

[Run]
Filename: "{app}\qfx-explorer.exe"; Parameters: """{app}\_internal\resources\demo"""; Description: "Open the demo library now"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Current) then
    Current := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;
